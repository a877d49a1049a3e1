//! The client side of the hub: creating instances, sending messages, reading rows and
//! histories, queries and purges.

use base64::Engine as _;

use super::history;
use super::hub::{storage, AzureTaskHub};
use super::instances;
use super::layout::{escape_partition_key, SENTINEL};
use durable_azure_storage::entity::{EdmValue, Entity};
use durable_azure_storage::tables::{literal, UpdateMode};
use durable_azure_storage::transaction::{TableOperation, MAX_OPERATIONS};
use durable_engine::history::{HistoryEvent, OrchestrationStatus};
use durable_engine::message::TaskMessage;
use durable_engine::time;
use durable_store::clock;
use durable_store::{
    InstanceOrder, InstancePage, InstanceQuery, InstanceState, PurgeFilter, StoreError, StoreResult,
};

impl AzureTaskHub {
    pub(super) async fn create(&self, start: TaskMessage) -> StoreResult<()> {
        let (started, execution_id) = durable_store::started_execution(&start)?;
        let instance_id = start.instance_id().to_owned();
        let pk = escape_partition_key(&instance_id);
        let existing = self.instances.get(&pk, "").await.map_err(storage)?;
        if let Some(row) = &existing {
            let state = instances::from_entity(row)?;
            durable_store::ensure_startable(&instance_id, Some(state.status))?;
            self.drop_pending(&instance_id).await?;
            // An empty history: the sentinel names the new execution, so the old rows no
            // longer count (readers stop at the first row of another execution).
            let sentinel = Entity::new(pk.clone(), SENTINEL)
                .with("ExecutionId", EdmValue::String(execution_id.clone()))
                .with("HistoryEventCount", EdmValue::Int64(0));
            self.history
                .update(
                    &sentinel,
                    UpdateMode::Merge,
                    durable_azure_storage::tables::IfMatch::Upsert,
                )
                .await
                .map_err(storage)?;
        }
        let now = clock::now();
        let state = InstanceState::pending(&instance_id, execution_id, started, now);
        {
            let mut held = self.orchestrations.lock();
            held.checkpoints.remove(&instance_id);
            match &existing {
                // A new instance: its first work item is locked from this row, unread.
                None => held.remember_created(state.clone()),
                Some(_) => {
                    held.created.remove(&instance_id);
                }
            }
        }
        // DTFx order: the start message first, then the Pending row.
        self.send_orchestrator_message(&start, started.scheduled_start_time, None)
            .await?;
        let etag = existing.as_ref().and_then(|e| e.etag.as_deref());
        self.write_pending_row(&state, etag).await
    }

    /// Writes the Pending row of a start whose message is already sent (inserted, or replacing
    /// the terminal row read with `etag`). The row may already be there *for this start*: the
    /// local dispatcher can take the message and write the Running row first. That start
    /// succeeded; only a row of another execution is a conflict.
    pub(super) async fn write_pending_row(
        &self,
        state: &InstanceState,
        etag: Option<&str>,
    ) -> StoreResult<()> {
        let mut row = instances::to_entity(&self.names.hub, state);
        self.offload_instance_row(&mut row, 0).await?;
        let mut attempts = 0;
        let written = loop {
            let written = match etag {
                Some(etag) => {
                    let condition = durable_azure_storage::tables::IfMatch::Etag(etag);
                    self.instances
                        .update(&row, UpdateMode::Replace, condition)
                        .await
                }
                None => self.instances.insert(&row).await,
            };
            // A write whose answer was lost: the row says whether it happened. Written (by
            // it or by the local dispatcher already) is success; not there, it is sent again.
            match written {
                Err(e) if e.outcome_unknown() && attempts < 2 => {
                    attempts += 1;
                    match self.get_row(&state.instance_id).await? {
                        Some(current) if current.execution_id == state.execution_id => {
                            return Ok(())
                        }
                        Some(_) if etag.is_none() => break Err(e),
                        _ => continue,
                    }
                }
                other => break other,
            }
        };
        match written {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.status(), Some(409) | Some(412)) => {
                match self.get_row(&state.instance_id).await? {
                    Some(current) if current.execution_id == state.execution_id => Ok(()),
                    current => Err(StoreError::InstanceExists {
                        instance_id: state.instance_id.clone(),
                        status: current.map_or(OrchestrationStatus::Pending, |r| r.status),
                    }),
                }
            }
            Err(e) => Err(storage(e)),
        }
    }

    pub(super) async fn get_row(&self, instance_id: &str) -> StoreResult<Option<InstanceState>> {
        let pk = escape_partition_key(instance_id);
        match self.instances.get(&pk, "").await.map_err(storage)? {
            Some(mut row) => {
                self.restore_instance_row(&mut row).await?;
                instances::from_entity(&row).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The current execution's history rows in order, and the sentinel (if any).
    pub(super) async fn history_rows(
        &self,
        instance_id: &str,
    ) -> StoreResult<(Vec<Entity>, Option<Entity>)> {
        let pk = escape_partition_key(instance_id);
        let filter = format!("PartitionKey eq {}", literal(&pk));
        let mut rows = self.history.query_all(&filter).await.map_err(storage)?;
        rows.sort_by(|a, b| a.row_key.cmp(&b.row_key));
        let sentinel = rows
            .iter()
            .position(|r| r.row_key == SENTINEL)
            .map(|i| rows.remove(i));
        let current = sentinel
            .as_ref()
            .and_then(|s| s.str("ExecutionId"))
            .or_else(|| rows.first().and_then(|r| r.str("ExecutionId")))
            .map(str::to_owned);
        let count = rows
            .iter()
            .take_while(|r| r.str("ExecutionId") == current.as_deref())
            .count();
        rows.truncate(count);
        Ok((rows, sentinel))
    }

    pub(super) async fn read_history(&self, instance_id: &str) -> StoreResult<Vec<HistoryEvent>> {
        let (rows, _) = self.history_rows(instance_id).await?;
        let mut events = Vec::with_capacity(rows.len());
        for mut row in rows {
            self.restore_history_row(&mut row).await?;
            events.push(history::from_entity(&row)?);
        }
        Ok(events)
    }

    pub(super) async fn query(&self, query: &InstanceQuery) -> StoreResult<InstancePage> {
        if query.order != InstanceOrder::InstanceId {
            return Err(StoreError::Unsupported(
                "the Azure Storage task hub lists instances by instance id only (its Instances \
                 table is ordered by partition key)"
                    .into(),
            ));
        }
        let mut clauses = vec!["RowKey eq ''".to_owned()];
        if !query.statuses.is_empty() {
            let any: Vec<String> = query
                .statuses
                .iter()
                .map(|s| format!("RuntimeStatus eq {}", literal(s.name())))
                .collect();
            clauses.push(format!("({})", any.join(" or ")));
        }
        if let Some(name) = &query.name {
            clauses.push(format!("Name eq {}", literal(name)));
        }
        if query.exclude_entities {
            // Entity instance ids are `@name@key`: the keys from "@" up to (not including) "A".
            clauses.push("(PartitionKey lt '@' or PartitionKey ge 'A')".to_owned());
        }
        if let Some(t) = query.created_from {
            clauses.push(format!("CreatedTime ge datetime'{}'", time::format(&t)));
        }
        if let Some(t) = query.created_to {
            clauses.push(format!("CreatedTime le datetime'{}'", time::format(&t)));
        }
        if let Some(prefix) = query
            .instance_id_prefix
            .as_deref()
            .filter(|p| !p.is_empty())
        {
            let low = escape_partition_key(prefix);
            let mut high: Vec<char> = low.chars().collect();
            if let Some(last) = high.last_mut() {
                *last = char::from_u32(*last as u32 + 1).unwrap_or(char::MAX);
            }
            let high: String = high.into_iter().collect();
            clauses.push(format!(
                "PartitionKey ge {} and PartitionKey lt {}",
                literal(&low),
                literal(&high)
            ));
        }
        let filter = clauses.join(" and ");
        let page_size = query.effective_page_size();
        let mut next = match &query.continuation {
            Some(token) => Some(decode_token(token)?),
            None => None,
        };
        // The service may return short (even empty) pages; fill up to the page size.
        let mut found = Vec::new();
        loop {
            let want = page_size - found.len();
            let page = self
                .instances
                .query(&filter, want.min(1000), next.as_ref())
                .await
                .map_err(storage)?;
            for mut row in page.entities {
                if query.skip_inputs {
                    // Not even downloaded when offloaded to a blob.
                    row.properties.remove("Input");
                }
                self.restore_instance_row(&mut row).await?;
                let state = instances::from_entity(&row)?;
                // Tags are one JSON column, which a table query cannot look into.
                if query.tags.iter().all(|(k, v)| state.tags.get(k) == Some(v)) {
                    found.push(state);
                }
            }
            next = page.continuation;
            if next.is_none() || found.len() >= page_size {
                break;
            }
        }
        Ok(InstancePage {
            instances: found,
            continuation: next.map(|(pk, rk)| encode_token(&pk, &rk)),
        })
    }

    pub(super) async fn purge(&self, instance_id: &str) -> StoreResult<bool> {
        let pk = escape_partition_key(instance_id);
        let existed = self
            .instances
            .get(&pk, "")
            .await
            .map_err(storage)?
            .is_some();
        let filter = format!("PartitionKey eq {}", literal(&pk));
        let rows = self.history.query_all(&filter).await.map_err(storage)?;
        for chunk in rows.chunks(MAX_OPERATIONS) {
            let deletes: Vec<_> = chunk
                .iter()
                .map(|r| TableOperation::Delete(pk.clone(), r.row_key.clone(), None))
                .collect();
            self.history.transact(&deletes).await.map_err(storage)?;
        }
        for blob in self.large.list(&pk).await.map_err(storage)? {
            self.large.delete_blob(&blob).await.map_err(storage)?;
        }
        self.instances
            .delete(&pk, "", None)
            .await
            .map_err(storage)?;
        self.drop_pending(instance_id).await?;
        self.drop_pending_activities(instance_id).await?;
        Ok(existed || !rows.is_empty())
    }

    pub(super) async fn purge_matching(&self, filter: &PurgeFilter) -> StoreResult<u64> {
        let statuses = filter.terminal_statuses();
        if statuses.is_empty() {
            return Ok(0);
        }
        let mut query = InstanceQuery {
            statuses,
            created_from: filter.created_from,
            created_to: filter.created_to,
            page_size: 1000,
            ..InstanceQuery::default()
        };
        let mut purged = 0;
        loop {
            let page = self.query(&query).await?;
            for row in &page.instances {
                if self.purge(&row.instance_id).await? {
                    purged += 1;
                }
            }
            match page.continuation {
                Some(c) => query.continuation = Some(c),
                None => return Ok(purged),
            }
        }
    }

    /// Deletes the messages of `instance_id` that are waiting in its control queue (after
    /// receiving what is visible there), so that a replaced or purged instance starts clean.
    pub(super) async fn drop_pending(&self, instance_id: &str) -> StoreResult<()> {
        self.receive_control(Some(&[self.names.partition_of(instance_id) as usize]))
            .await?;
        let held = {
            let mut state = self.orchestrations.lock();
            state.locks.remove(instance_id);
            state.checkpoints.remove(instance_id);
            state.created.remove(instance_id);
            state.messages.remove(instance_id).unwrap_or_default()
        };
        for h in held {
            self.control[h.queue]
                .delete_message(&h.message_id, &h.pop_receipt)
                .await
                .map_err(storage)?;
        }
        // The other messages just received belong to the partition's owner.
        self.release_unowned().await;
        Ok(())
    }
}

fn encode_token(pk: &str, rk: &str) -> String {
    let json = serde_json::json!([pk, rk]).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_token(token: &str) -> StoreResult<(String, String)> {
    let bad = || StoreError::BadContinuation(token.to_owned());
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    serde_json::from_slice::<(String, String)>(&json).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use durable_engine::history::ExecutionStarted;
    use durable_store::OrchestrationService;

    /// The race between a start and the local dispatcher, on purpose: the dispatcher took the
    /// start message and wrote the instance row before the client's insert of the Pending row.
    /// That start succeeded; only a row of another execution is a conflict.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_start_whose_row_the_dispatcher_wrote_first_succeeded() {
        let azurite = durable_testing::azurite::shared().expect("Azurite is required");
        let name = format!("Race{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let hub = AzureTaskHub::new(azurite.account(), &name).expect("hub");
        hub.create_if_not_exists().await.expect("create the hub");
        let started = ExecutionStarted {
            name: "hello".into(),
            ..ExecutionStarted::default()
        };
        let now = clock::now();
        let mut running = InstanceState::pending("race-1", "e1".into(), &started, now);
        running.status = OrchestrationStatus::Running;
        hub.write_pending_row(&running, None)
            .await
            .expect("the dispatcher's row");

        let pending = InstanceState::pending("race-1", "e1".into(), &started, now);
        hub.write_pending_row(&pending, None)
            .await
            .expect("the start of e1 succeeded");
        let row = hub.get_row("race-1").await.unwrap().expect("row");
        assert_eq!(
            row.status,
            OrchestrationStatus::Running,
            "the dispatcher's row stays"
        );

        let other = InstanceState::pending("race-1", "e2".into(), &started, now);
        let err = hub.write_pending_row(&other, None).await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::InstanceExists {
                    status: OrchestrationStatus::Running,
                    ..
                }
            ),
            "{err}"
        );
    }
}
