//! The browser set-up itself: headless Chromium, driven by `tests/browser/smoke.mjs`, renders
//! a page served from this process, and a page that logs a console error fails the script.
//! Chromium and playwright-core are installed by `tests/browser/setup.sh`; without them the
//! tests fail, they never skip.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use tests::browser;

/// Serves `html` on a free port of 127.0.0.1 for the rest of the process, whatever the
/// request; returns the page's URL.
fn serve(html: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}/", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // A thread per connection: Chromium may open one it never sends a request on.
            thread::spawn(move || answer(stream, html));
        }
    });
    url
}

fn answer(mut stream: TcpStream, html: &str) {
    let mut request = BufReader::new(&stream);
    let mut line = String::new();
    while request.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
        line.clear();
    }
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
        html.len()
    );
}

/// Where one test's screenshots go, apart from the other test's.
fn artifacts(test: &str) -> String {
    let dir = browser::artifacts_dir().join(test);
    let _ = std::fs::remove_dir_all(&dir);
    dir.to_str().expect("a UTF-8 path").to_owned()
}

#[test]
fn chromium_renders_a_local_page() {
    browser::set_up();
    let url = serve(
        "<!doctype html><title>Smoke</title><h1>Hello from the host</h1>\
         <script>document.title = 'Smoke test';</script>",
    );
    let dir = artifacts("chromium_renders_a_local_page");
    let out = browser::run("smoke.mjs", &[&url], &[("BROWSER_ARTIFACTS", &dir)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "smoke.mjs failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("Hello from the host"), "stdout: {stdout}");
    let png = std::fs::read(format!("{dir}/smoke.png")).expect("smoke.mjs saved smoke.png");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "smoke.png is not a PNG"
    );
}

#[test]
fn a_console_error_fails_the_page() {
    browser::set_up();
    let url = serve("<!doctype html><h1>Broken</h1><script>console.error('boom');</script>");
    let dir = artifacts("a_console_error_fails_the_page");
    let out = browser::run("smoke.mjs", &[&url], &[("BROWSER_ARTIFACTS", &dir)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "smoke.mjs passed a page that logged an error"
    );
    assert!(stderr.contains("boom"), "stderr: {stderr}");
}
