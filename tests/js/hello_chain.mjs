// The hello-world chain of the official JavaScript Durable Task SDK (@microsoft/durabletask-js,
// pinned in package.json) against the host's Durable Task gRPC endpoint: a TaskHubGrpcWorker
// serves the orchestrator `js_hello_chain` and the activity `hello`; a TaskHubGrpcClient
// schedules one instance and waits for it to complete.
//
// Usage: node tests/js/hello_chain.mjs --address 127.0.0.1:PORT [--timeout SECONDS]
//
// Prints one JSON line on stdout, {"instance_id": ..., "status": ..., "output": ...} (status is
// the SDK's name of the runtime status, e.g. "COMPLETED"; output the parsed JSON output), stops
// the worker and exits 0 only when the instance completed with the three greetings. Everything
// else (the SDK's own logs, errors) goes to stderr.

import {
    OrchestrationStatus,
    TaskHubGrpcClient,
    TaskHubGrpcWorker,
} from "@microsoft/durabletask-js";

const ORCHESTRATOR = "js_hello_chain";
const ACTIVITY = "hello";
const EXPECTED = ["Hello Tokyo!", "Hello Seattle!", "Hello London!"];

function parseArgs(argv) {
    const args = { address: undefined, timeout: 60 };
    for (let i = 0; i < argv.length; i++) {
        switch (argv[i]) {
            case "--address":
                args.address = argv[++i];
                break;
            case "--timeout":
                args.timeout = Number(argv[++i]);
                break;
            default:
                throw new Error(`unknown argument ${argv[i]}`);
        }
    }
    if (!args.address) {
        throw new Error("--address HOST:PORT is required");
    }
    return args;
}

// The SDK's logs, on stderr with a time stamp (its default logger writes info to stdout).
const started = Date.now();
function log(level, message, ...rest) {
    const at = ((Date.now() - started) / 1000).toFixed(3);
    const extra = rest.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join(" ");
    process.stderr.write(`[${at}s] ${level} ${message}${extra ? " " + extra : ""}\n`);
}
const logger = {
    error: (m, ...a) => log("ERROR", m, ...a),
    warn: (m, ...a) => log("WARN", m, ...a),
    info: (m, ...a) => log("INFO", m, ...a),
    debug: (m, ...a) => log("DEBUG", m, ...a),
};

/** The activity: greets a city. */
function hello(_ctx, city) {
    return `Hello ${city}!`;
}

/**
 * The orchestrator: calls `hello` for three cities in turn and returns the greetings. An async
 * generator: the SDK runs only those (a plain generator counts as an orchestrator that schedules
 * nothing and completes at once with the generator object as its output).
 */
async function* helloChain(ctx) {
    const greetings = [];
    for (const city of ["Tokyo", "Seattle", "London"]) {
        greetings.push(yield ctx.callActivity(ACTIVITY, city));
    }
    return greetings;
}

async function main(args) {
    // Insecure (h2c): the host's endpoint is plaintext.
    const worker = new TaskHubGrpcWorker({
        hostAddress: args.address,
        useTLS: false,
        logger,
        shutdownTimeoutMs: 5000,
    });
    worker.addNamedOrchestrator(ORCHESTRATOR, helloChain);
    worker.addNamedActivity(ACTIVITY, hello);
    const client = new TaskHubGrpcClient({ hostAddress: args.address, useTLS: false, logger });
    let ok = false;
    try {
        await worker.start();
        const id = await client.scheduleNewOrchestration(ORCHESTRATOR);
        log("INFO", `scheduled ${ORCHESTRATOR}: ${id}`);
        const state = await client.waitForOrchestrationCompletion(id, true, args.timeout);
        if (!state) {
            throw new Error(`instance ${id} not found`);
        }
        const output =
            state.serializedOutput === undefined || state.serializedOutput === ""
                ? null
                : JSON.parse(state.serializedOutput);
        const status = OrchestrationStatus[state.runtimeStatus] ?? String(state.runtimeStatus);
        console.log(JSON.stringify({ instance_id: id, status, output }));
        if (state.failureDetails) {
            log("ERROR", "failure details", {
                errorType: state.failureDetails.errorType,
                message: state.failureDetails.message,
                stackTrace: state.failureDetails.stackTrace,
            });
        }
        ok =
            state.runtimeStatus === OrchestrationStatus.COMPLETED &&
            JSON.stringify(output) === JSON.stringify(EXPECTED);
        if (!ok) {
            log("ERROR", `unexpected result: ${status} ${JSON.stringify(output)}`);
        }
    } finally {
        await worker.stop().catch((e) => log("WARN", `worker.stop: ${e}`));
        await client.stop().catch((e) => log("WARN", `client.stop: ${e}`));
    }
    return ok;
}

const args = parseArgs(process.argv.slice(2));
// A hard limit past the SDK's own wait, so that a hung connection cannot hang the test.
const watchdog = setTimeout(
    () => {
        log("ERROR", "hello_chain.mjs: no result in time, giving up");
        process.exit(2);
    },
    (args.timeout + 30) * 1000,
);
watchdog.unref();

main(args).then(
    (ok) => process.exit(ok ? 0 : 1),
    (e) => {
        log("ERROR", `hello_chain.mjs failed: ${e?.stack ?? e}`);
        process.exit(1);
    },
);
