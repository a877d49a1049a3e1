//! The app of the durable HTTP test (`tests/tests/durable_http.rs`): `fetch` makes the
//! request it is given with `ctx.call_http` and returns how the call ended:
//!
//! - `{"answer": <DurableHttpResponse>}`: the final answer, whatever its status;
//! - `{"timedOut": "..."}`: the request's timeout passed first;
//! - `{"failed": "<error type>", "message": "..."}`: the request got no answer;
//! - `{"invalid": "..."}`: the request could not be sent.

use durable::prelude::*;
use serde_json::{json, Value};

/// Makes one durable HTTP request and catches what can go wrong.
#[orchestration_trigger]
async fn fetch(ctx: OrchestrationContext, request: DurableHttpRequest) -> Result<Value, Failure> {
    Ok(match ctx.call_http(request).await {
        Ok(answer) => json!({ "answer": answer }),
        Err(TaskError::TimedOut(what)) => json!({ "timedOut": what }),
        Err(TaskError::InvalidHttpRequest(e)) => json!({ "invalid": e.to_string() }),
        Err(TaskError::Failed { details, .. }) => {
            json!({ "failed": details.error_type, "message": details.error_message })
        }
        Err(e) => return Err(e.into()),
    })
}

fn main() -> std::process::ExitCode {
    durable::host::main()
}
