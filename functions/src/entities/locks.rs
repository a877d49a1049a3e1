//! Critical sections that outlive their holder: `hold_locks` locks counters and waits (so a
//! test can terminate or purge it while it holds them), and `POST /api/entity-storage/clean`
//! repairs entity storage (removes empty entities, releases locks whose holder is gone).

use durable::http::{HttpRequest, HttpResponse, StatusCode};
use durable::{
    durable_client, http_trigger, orchestration_trigger, DurableClient, EntityId, Failure,
    OrchestrationContext,
};

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

/// `POST /api/entity-storage/clean?removeEmpty=true&releaseOrphanedLocks=true`: runs
/// `clean_entity_storage` (both default to true) and answers with its counts,
/// `{"numberOfEmptyEntitiesRemoved": n, "numberOfOrphanedLocksRemoved": m}`.
#[http_trigger(methods = ["post"], route = "entity-storage/clean", auth_level = anonymous)]
pub async fn clean_entity_storage(
    req: HttpRequest,
    #[durable_client] client: DurableClient,
) -> HttpResponse {
    let flag = |name: &str| {
        req.query_param(name)
            .is_none_or(|v| v.eq_ignore_ascii_case("true"))
    };
    let (remove_empty, release_orphaned_locks) =
        (flag("removeEmpty"), flag("releaseOrphanedLocks"));
    match client
        .clean_entity_storage(remove_empty, release_orphaned_locks)
        .await
    {
        Ok(result) => HttpResponse::ok_json(&result),
        Err(e) => HttpResponse::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
