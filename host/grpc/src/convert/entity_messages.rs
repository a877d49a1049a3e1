//! An orchestrator's messages to entities (`sendEntityMessage`) as the engine sends them: an
//! `op` or `release` event to the entity's instance, its input the request as Durable
//! Functions writes it. History then holds an `EventSent` with that input, and the answer
//! comes back as an `EventRaised` named by the request id: the shape the SDKs read on replay.
//!
//! The requests carry no ordering label (the engine's entity sorter delivers unlabelled
//! requests in arrival order); a commit sends them atomically with the episode's history, so
//! there are no resends to tell apart.

use chrono::{DateTime, Utc};

use super::{from_optional_timestamp, non_empty, InvalidMessage};
use crate::proto;
use crate::proto::send_entity_message_action::EntityMessageType as M;
use durable_engine::entity::messages::{ReleaseMessage, RequestMessage, OP, RELEASE};
use durable_engine::entity::EntityId;
use durable_engine::replay::remote::Action;

/// The engine's action for a message of action `id` from the orchestration `instance_id`
/// (`now`: the time requests are stamped with when they name none).
pub fn entity_action(
    id: i32,
    instance_id: &str,
    message: proto::SendEntityMessageAction,
    now: DateTime<Utc>,
) -> Result<Action, InvalidMessage> {
    let Some(message) = message.entity_message_type else {
        return Err(InvalidMessage(format!(
            "sendEntityMessage {id} has no message"
        )));
    };
    match message {
        M::EntityOperationCalled(c) => {
            let target = target(id, c.target_instance_id.as_deref())?;
            let at = from_optional_timestamp(c.scheduled_time.as_ref(), "scheduledTime")?;
            let mut request = RequestMessage::operation(
                request_id(id, &c.request_id)?,
                &c.operation,
                c.input,
                false,
                at.unwrap_or(now),
            );
            request.parent = Some(c.parent_instance_id.unwrap_or_else(|| instance_id.into()));
            request.parent_execution = c.parent_execution_id.filter(|e| !e.is_empty());
            send(target, OP, &request)
        }
        M::EntityOperationSignaled(s) => {
            let target = target(id, s.target_instance_id.as_deref())?;
            let at = from_optional_timestamp(s.scheduled_time.as_ref(), "scheduledTime")?;
            let mut request = RequestMessage::operation(
                request_id(id, &s.request_id)?,
                &s.operation,
                s.input,
                true,
                now,
            );
            request.parent = Some(instance_id.to_string());
            request.due = at.filter(|at| *at > now);
            send(target, OP, &request)
        }
        M::EntityLockRequested(l) => {
            let lockset = l
                .lock_set
                .iter()
                .map(|e| entity(id, e))
                .collect::<Result<Vec<_>, _>>()?;
            let pos = usize::try_from(l.position)
                .ok()
                .filter(|p| *p < lockset.len())
                .ok_or_else(|| {
                    InvalidMessage(format!(
                        "entityLockRequested {id}: position {} is outside its lock set",
                        l.position
                    ))
                })?;
            let target = lockset[pos].scheduler_id();
            let mut request = RequestMessage::operation(
                request_id(id, &l.critical_section_id)?,
                "",
                None,
                false,
                now,
            );
            request.op = None;
            request.parent = Some(l.parent_instance_id.unwrap_or_else(|| instance_id.into()));
            request.lockset = Some(lockset);
            request.pos = pos;
            send(target, OP, &request)
        }
        M::EntityUnlockSent(u) => {
            let target = target(id, u.target_instance_id.as_deref())?;
            let release = ReleaseMessage {
                parent: u.parent_instance_id.unwrap_or_else(|| instance_id.into()),
                id: request_id(id, &u.critical_section_id)?,
            };
            send(target, RELEASE, &release)
        }
    }
}

/// The entity instance a message goes to (`@name@key`).
fn target(id: i32, instance: Option<&str>) -> Result<String, InvalidMessage> {
    let instance = instance
        .and_then(non_empty)
        .ok_or_else(|| InvalidMessage(format!("sendEntityMessage {id} names no target entity")))?;
    Ok(entity(id, &instance)?.scheduler_id())
}

fn entity(id: i32, instance: &str) -> Result<EntityId, InvalidMessage> {
    EntityId::from_scheduler_id(instance).map_err(|e| {
        InvalidMessage(format!(
            "sendEntityMessage {id}: {instance:?} is not an entity id (@name@key): {e}"
        ))
    })
}

fn request_id(id: i32, given: &str) -> Result<String, InvalidMessage> {
    non_empty(given)
        .ok_or_else(|| InvalidMessage(format!("sendEntityMessage {id} has no request id")))
}

fn send(
    target: String,
    name: &str,
    message: &impl serde::Serialize,
) -> Result<Action, InvalidMessage> {
    let input = serde_json::to_string(message)
        .map_err(|e| InvalidMessage(format!("an entity message does not serialize: {e}")))?;
    Ok(Action::SendEvent {
        instance_id: target,
        name: name.to_string(),
        input: Some(input),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn sent(action: Action) -> (String, String, serde_json::Value) {
        let Action::SendEvent {
            instance_id,
            name,
            input,
        } = action
        else {
            panic!("not a send: {action:?}");
        };
        let json = serde_json::from_str(&input.unwrap()).unwrap();
        (instance_id, name, json)
    }

    fn message(m: M) -> proto::SendEntityMessageAction {
        proto::SendEntityMessageAction {
            entity_message_type: Some(m),
        }
    }

    #[test]
    fn a_call_is_an_op_request_named_by_its_request_id() {
        let call = M::EntityOperationCalled(proto::EntityOperationCalledEvent {
            request_id: "r-1".into(),
            operation: "add".into(),
            input: Some("5".into()),
            target_instance_id: Some("@counter@k".into()),
            parent_execution_id: Some("e1".into()),
            ..Default::default()
        });
        let (target, name, json) = sent(entity_action(3, "orch-1", message(call), now()).unwrap());
        assert_eq!((target.as_str(), name.as_str()), ("@counter@k", OP));
        assert_eq!(json["id"], "r-1");
        assert_eq!(json["op"], "add");
        assert_eq!(json["input"], "5");
        assert_eq!(json["parent"], "orch-1");
        assert_eq!(json["parentExecution"], "e1");
        assert!(json.get("signal").is_none(), "{json}");
    }

    #[test]
    fn signals_locks_and_releases_keep_their_shape() {
        let signal = M::EntityOperationSignaled(proto::EntityOperationSignaledEvent {
            request_id: "r-2".into(),
            operation: "reset".into(),
            target_instance_id: Some("@counter@k".into()),
            ..Default::default()
        });
        let (_, _, json) = sent(entity_action(1, "o", message(signal), now()).unwrap());
        assert_eq!(json["signal"], true);

        let lock = M::EntityLockRequested(proto::EntityLockRequestedEvent {
            critical_section_id: "cs".into(),
            lock_set: vec!["@a@1".into(), "@b@2".into()],
            position: 1,
            parent_instance_id: Some("o".into()),
        });
        let (target, name, json) = sent(entity_action(2, "o", message(lock), now()).unwrap());
        assert_eq!((target.as_str(), name.as_str()), ("@b@2", OP));
        assert_eq!(json["id"], "cs");
        assert_eq!(json["pos"], 1);
        assert!(json.get("op").is_none(), "{json}");

        let unlock = M::EntityUnlockSent(proto::EntityUnlockSentEvent {
            critical_section_id: "cs".into(),
            parent_instance_id: Some("o".into()),
            target_instance_id: Some("@a@1".into()),
        });
        let (target, name, json) = sent(entity_action(4, "o", message(unlock), now()).unwrap());
        assert_eq!((target.as_str(), name.as_str()), ("@a@1", RELEASE));
        assert_eq!(json, serde_json::json!({"parent": "o", "id": "cs"}));
    }

    #[test]
    fn bad_entity_messages_are_errors() {
        let no_target = M::EntityOperationCalled(proto::EntityOperationCalledEvent {
            request_id: "r".into(),
            ..Default::default()
        });
        let not_entity = M::EntityOperationSignaled(proto::EntityOperationSignaledEvent {
            request_id: "r".into(),
            target_instance_id: Some("plain".into()),
            ..Default::default()
        });
        let out_of_set = M::EntityLockRequested(proto::EntityLockRequestedEvent {
            critical_section_id: "cs".into(),
            lock_set: vec!["@a@1".into()],
            position: 3,
            ..Default::default()
        });
        for m in [no_target, not_entity, out_of_set] {
            assert!(entity_action(1, "o", message(m), now()).is_err());
        }
        let empty = proto::SendEntityMessageAction::default();
        assert!(entity_action(1, "o", empty, now()).is_err());
    }
}
