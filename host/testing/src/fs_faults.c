/*
 * durable-fs-faults: an LD_PRELOAD shim that injects file system errors, for tests.
 *
 * Interposes fsync, fdatasync, open, open64, openat, openat64 (and glibc's fortified
 * __open_2, __open64_2, __openat_2, __openat64_2), write, pwrite and pwrite64. The rules are
 * read from the file named by $DURABLE_FS_FAULTS, checked at most every 50 ms (open + fstat;
 * it is parsed again only when its inode, size or mtime changed, which restores every count),
 * one rule a line, the first matching rule wins:
 *
 *   fsync_eio <path-substring> [count]    fsync/fdatasync fail with EIO
 *   open_emfile <path-substring> [count]  open* fail with EMFILE
 *   write_enospc <path-substring>         write/pwrite fail with ENOSPC
 *   write_erofs <path-substring>          write/pwrite and opens for writing fail with EROFS
 *
 * A count is consumed exactly, across threads; without one a rule applies while present. The
 * path of an fd is /proc/self/fd/N; a relative open path is joined to its directory. Every
 * injected fault is reported on stderr: "durable-fs-faults: injected EIO on fdatasync(PATH)".
 * Not covered: stdio (fopen and fwrite call glibc internally), writev, mmap, sync_file_range.
 * Without $DURABLE_FS_FAULTS the shim only passes calls on.
 */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum kind { FSYNC_EIO, OPEN_EMFILE, WRITE_ENOSPC, WRITE_EROFS };
enum op { OP_SYNC, OP_OPEN_READ, OP_OPEN_WRITE, OP_WRITE };

struct rule {
    enum kind kind;
    long left; /* -1: no count, applies while present */
    char sub[512];
};

static const char *kinds[] = {"fsync_eio", "open_emfile", "write_enospc", "write_erofs"};
static const int errnos[] = {EIO, EMFILE, ENOSPC, EROFS};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *control; /* NULL: inactive */
static struct rule rules[64];
static int nrules;
static long long next_check;
static struct stat seen;
static int have_seen;
static char text[16384];
static char where[2 * PATH_MAX + 2];

static void say(const char *msg) {
    syscall(SYS_write, 2, msg, strlen(msg));
}

static void parse(void) {
    nrules = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[32], sub[sizeof rules[0].sub];
        long count = -1;
        int n = sscanf(line, "%31s %511s %ld", name, sub, &count);
        if (n <= 0 || name[0] == '#') continue;
        int k = 0;
        while (k < 4 && strcmp(name, kinds[k]) != 0) k++;
        if (n < 2 || k == 4 || nrules == 64) {
            char msg[700];
            snprintf(msg, sizeof msg, "durable-fs-faults: ignored line: %.600s\n", line);
            say(msg);
            continue;
        }
        struct rule *r = &rules[nrules++];
        r->kind = (enum kind)k;
        r->left = n == 3 && count >= 0 ? count : -1;
        strcpy(r->sub, sub);
    }
}

/* With the lock held: reads the control file again if it changed, at most every 50 ms. */
static void reload(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (now < next_check) return;
    next_check = now + 50000000LL;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, control, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) syscall(SYS_close, fd);
        nrules = 0;
        have_seen = 0;
        return;
    }
    if (have_seen && st.st_ino == seen.st_ino && st.st_dev == seen.st_dev &&
        st.st_size == seen.st_size && st.st_mtim.tv_sec == seen.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == seen.st_mtim.tv_nsec) {
        syscall(SYS_close, fd);
        return;
    }
    size_t len = 0;
    long n;
    while (len < sizeof text - 1 &&
           (n = syscall(SYS_read, fd, text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)n;
    syscall(SYS_close, fd);
    text[len] = 0;
    seen = st;
    have_seen = 1;
    parse();
}

static int applies(enum kind k, enum op op) {
    switch (k) {
    case FSYNC_EIO: return op == OP_SYNC;
    case OPEN_EMFILE: return op == OP_OPEN_READ || op == OP_OPEN_WRITE;
    case WRITE_ENOSPC: return op == OP_WRITE;
    case WRITE_EROFS: return op == OP_WRITE || op == OP_OPEN_WRITE;
    }
    return 0;
}

/* Into `where`: the path of `fd`, or `path` made absolute against `dirfd`. */
static void locate(int fd, int dirfd, const char *path) {
    char link[64];
    where[0] = 0;
    if (path && path[0] == '/') {
        snprintf(where, sizeof where, "%s", path);
        return;
    }
    if (!path || dirfd != AT_FDCWD) {
        snprintf(link, sizeof link, "/proc/self/fd/%d", path ? dirfd : fd);
        ssize_t n = readlink(link, where, PATH_MAX);
        if (n < 0) return;
        where[n] = 0;
    } else if (!getcwd(where, PATH_MAX)) {
        where[0] = 0;
        return;
    }
    if (path) {
        size_t len = strlen(where);
        snprintf(where + len, sizeof where - len, "/%s", path);
    }
}

/* The errno to inject for `op` (0 for none), consuming a count; reports it on stderr. */
static int decide(const char *func, enum op op, int fd, int dirfd, const char *path) {
    if (!control) return 0;
    int saved = errno, err = 0, relevant = 0;
    pthread_mutex_lock(&lock);
    reload();
    for (int i = 0; i < nrules && !relevant; i++)
        relevant = applies(rules[i].kind, op) && rules[i].left != 0;
    if (relevant) {
        locate(fd, dirfd, path);
        for (int i = 0; i < nrules && where[0]; i++) {
            struct rule *r = &rules[i];
            if (!applies(r->kind, op) || r->left == 0 || !strstr(where, r->sub)) continue;
            if (r->left > 0) r->left--;
            err = errnos[r->kind];
            static char msg[sizeof where + 100];
            snprintf(msg, sizeof msg, "durable-fs-faults: injected %s on %s(%s)\n",
                     err == EIO ? "EIO" : err == EMFILE ? "EMFILE" :
                     err == ENOSPC ? "ENOSPC" : "EROFS", func, where);
            say(msg);
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    errno = saved;
    return err;
}

static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork(void) { pthread_mutex_unlock(&lock); }

__attribute__((constructor)) static void init(void) {
    const char *path = getenv("DURABLE_FS_FAULTS");
    if (path && path[0]) {
        control = strdup(path);
        pthread_atfork(before_fork, after_fork, after_fork);
    }
}

/* The next definition of `name` (glibc's), looked up once. */
#define REAL(name) \
    static __typeof__(&name) real_##name; \
    if (!__atomic_load_n(&real_##name, __ATOMIC_ACQUIRE)) \
        __atomic_store_n(&real_##name, (__typeof__(&name))dlsym(RTLD_NEXT, #name), \
                         __ATOMIC_RELEASE)

#define FAIL_IF(err) \
    do { \
        int e_ = (err); \
        if (e_) { \
            errno = e_; \
            return -1; \
        } \
    } while (0)

static enum op open_op(int flags) {
    int writes = (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
    return writes ? OP_OPEN_WRITE : OP_OPEN_READ;
}

/* The optional third argument of open, there when O_CREAT or O_TMPFILE asks for it. */
#define MODE(flags) \
    mode_t mode = 0; \
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) { \
        va_list ap; \
        va_start(ap, flags); \
        mode = (mode_t)va_arg(ap, int); \
        va_end(ap); \
    }

#define OPEN(name) \
    int name(const char *path, int flags, ...) { \
        MODE(flags) \
        FAIL_IF(decide(#name, open_op(flags), -1, AT_FDCWD, path)); \
        REAL(name); \
        return real_##name(path, flags, mode); \
    }
#define OPENAT(name) \
    int name(int dirfd, const char *path, int flags, ...) { \
        MODE(flags) \
        FAIL_IF(decide(#name, open_op(flags), -1, dirfd, path)); \
        REAL(name); \
        return real_##name(dirfd, path, flags, mode); \
    }
/* glibc's checked variants, which fortified callers use when there is no mode. */
#define OPEN_2(name) \
    int name(const char *path, int flags) { \
        FAIL_IF(decide(#name, open_op(flags), -1, AT_FDCWD, path)); \
        REAL(name); \
        return real_##name(path, flags); \
    }
#define OPENAT_2(name) \
    int name(int dirfd, const char *path, int flags) { \
        FAIL_IF(decide(#name, open_op(flags), -1, dirfd, path)); \
        REAL(name); \
        return real_##name(dirfd, path, flags); \
    }

OPEN(open)
OPEN(open64)
OPENAT(openat)
OPENAT(openat64)
OPEN_2(__open_2)
OPEN_2(__open64_2)
OPENAT_2(__openat_2)
OPENAT_2(__openat64_2)

int fsync(int fd) {
    FAIL_IF(decide("fsync", OP_SYNC, fd, -1, NULL));
    REAL(fsync);
    return real_fsync(fd);
}

int fdatasync(int fd) {
    FAIL_IF(decide("fdatasync", OP_SYNC, fd, -1, NULL));
    REAL(fdatasync);
    return real_fdatasync(fd);
}

ssize_t write(int fd, const void *buf, size_t count) {
    FAIL_IF(decide("write", OP_WRITE, fd, -1, NULL));
    REAL(write);
    return real_write(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
    FAIL_IF(decide("pwrite", OP_WRITE, fd, -1, NULL));
    REAL(pwrite);
    return real_pwrite(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset) {
    FAIL_IF(decide("pwrite64", OP_WRITE, fd, -1, NULL));
    REAL(pwrite64);
    return real_pwrite64(fd, buf, count, offset);
}
