//! Critical sections that outlive their holder: `hold_locks` locks counters and waits (so a
//! test can terminate or purge it while it holds them), and `POST /api/entity-storage/clean`
//! repairs entity storage (removes empty entities, releases locks whose holder is gone).

use durable::http::{HttpRequest, HttpResponse, StatusCode};
use durable::{
    durable_client, http_trigger, orchestration_trigger, DurableClient, EntityId, Failure,
    OrchestrationContext,
};
use schemars::JsonSchema;
use serde::Deserialize;

/// Locks the `counter` entities named by `keys`, reports `"locked"` as its custom status, and
/// holds them until the event `done` arrives; returns how many it held.
#[orchestration_trigger]
pub async fn hold_locks(ctx: OrchestrationContext, keys: Vec<String>) -> Result<usize, Failure> {
    let ids = keys
        .iter()
        .map(|k| EntityId::new("counter", k))
        .collect::<Result<Vec<_>, _>>()?;
    let section = ctx.lock(&ids).await?;
    ctx.set_custom_status(&"locked");
    ctx.wait_for_external_event::<serde_json::Value>("done")
        .await?;
    Ok(section.entities().len())
}

/// What `POST /api/entity-storage/clean` does; both default to `true`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
// Describes the query in the OpenAPI document; the function reads it with `query_param`.
#[allow(dead_code)]
pub struct CleanQuery {
    /// Remove entities without state, lock or pending requests.
    pub remove_empty: Option<bool>,
    /// Release locks whose holder no longer runs.
    pub release_orphaned_locks: Option<bool>,
}

/// `POST /api/entity-storage/clean?removeEmpty=true&releaseOrphanedLocks=true`: runs
/// `clean_entity_storage` (both default to true) and answers with its counts,
/// `{"numberOfEmptyEntitiesRemoved": n, "numberOfOrphanedLocksRemoved": m}`. It changes the
/// task hub, so it needs the master key.
#[http_trigger(
    methods = ["post"],
    route = "entity-storage/clean",
    auth_level = admin,
    operation_id = "cleanEntityStorage",
    summary = "Removes empty entities and releases orphaned locks",
    tags = ["entities"],
    query = CleanQuery,
    response_body = durable::client::CleanEntityStorageResult,
    responses = [400],
)]
pub async fn clean_entity_storage(
    req: HttpRequest,
    #[durable_client] client: DurableClient,
) -> HttpResponse {
    let flag = |name: &str| match req.query_param(name) {
        None => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(format!("{name} must be true or false, not {v:?}")),
    };
    let (remove_empty, release_orphaned_locks) =
        match (flag("removeEmpty"), flag("releaseOrphanedLocks")) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(bad), _) | (_, Err(bad)) => {
                return HttpResponse::error(StatusCode::BAD_REQUEST, &bad)
            }
        };
    match client
        .clean_entity_storage(remove_empty, release_orphaned_locks)
        .await
    {
        Ok(result) => HttpResponse::ok_json(&result),
        Err(e) => HttpResponse::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
