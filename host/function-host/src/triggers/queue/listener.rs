//! One queue function's listener: the poll loop and the life of one message.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use futures::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::{poison_queue_name, LOCK, MIN_POLL};
use crate::app::{FunctionContext, QueueFunction, QueueMessage, QueueMessageInfo};
use crate::triggers::backoff::{pause_or_stop, Backoff};
use crate::triggers::options::{MessageEncoding, QueueOptions};
use crate::triggers::storage::{clients_for, valid_storage_name, StorageTriggerError};
use durable_azure_storage::queues::{QueueClient, RawMessage};
use durable_client::DurableClient;
use durable_engine::failure::Failure;

const TRIGGER: &str = "queueTrigger";
/// The services its connection must reach: queues (and the poison queue).
const NEEDS: &[durable_azure_storage::StorageService] =
    &[durable_azure_storage::StorageService::Queue];

/// A queue function ready to listen.
pub(crate) struct QueueListener {
    name: Arc<str>,
    function: QueueFunction,
    queue: QueueClient,
    poison: QueueClient,
    options: QueueOptions,
}

/// Checks every queue function's queue name and connection; builds the listeners.
pub(crate) fn prepare(
    functions: &[(String, QueueFunction)],
    options: &QueueOptions,
) -> Result<Vec<QueueListener>, StorageTriggerError> {
    let mut listeners = Vec::with_capacity(functions.len());
    for (name, function) in functions {
        if !valid_storage_name(&function.queue_name) {
            return Err(StorageTriggerError::BadTarget {
                function: name.clone(),
                reason: format!(
                    "queue name {:?} must be 3-63 lower-case letters, digits and single dashes",
                    function.queue_name
                ),
            });
        }
        let clients = clients_for(name, TRIGGER, &function.connection, NEEDS)?;
        listeners.push(QueueListener {
            name: Arc::from(name.as_str()),
            queue: clients.queue(&function.queue_name),
            poison: clients.queue(&poison_queue_name(&function.queue_name)),
            function: function.clone(),
            options: options.clone(),
        });
    }
    Ok(listeners)
}

/// Spawns the listeners.
pub(crate) fn spawn(
    listeners: Vec<QueueListener>,
    client: &DurableClient,
    shutdown: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    listeners
        .into_iter()
        .map(|l| {
            tracing::info!(
                function = &*l.name,
                queue = %l.function.queue_name,
                connection = %l.function.connection,
                "queue trigger started"
            );
            tokio::spawn(Arc::new(l).run(client.clone(), shutdown.clone()))
        })
        .collect()
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    Deleted,
    Retried,
    Poisoned,
}

impl QueueListener {
    async fn run(self: Arc<Self>, client: DurableClient, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Backoff::new(MIN_POLL, self.options.max_polling_interval);
        // The queue is created if missing, as Azure Functions does, so that messages can be
        // put before anyone else creates it.
        while let Err(e) = self.queue.create_if_not_exists().await {
            tracing::warn!(function = &*self.name, error = %e, "cannot create the queue; retrying");
            if pause_or_stop(backoff.next_pause(), &mut shutdown).await {
                return;
            }
        }
        backoff.reset();
        let context = FunctionContext {
            client,
            function_name: self.name.clone(),
        };
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.queue.receive(self.options.batch_size, LOCK).await {
                Ok(batch) if !batch.is_empty() => {
                    backoff.reset();
                    // Runs started are finished even when shutdown begins meanwhile.
                    let runs = batch.into_iter().map(|m| self.process(m, context.clone()));
                    futures::future::join_all(runs).await;
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(function = &*self.name, error = %e, "receiving from the queue failed");
                }
            }
            if pause_or_stop(backoff.next_pause(), &mut shutdown).await {
                return;
            }
        }
    }

    /// Runs the function for one message and settles it.
    async fn process(&self, message: RawMessage, context: FunctionContext) -> Settled {
        let max = self.options.max_dequeue_count;
        if message.dequeue_count > max {
            tracing::warn!(
                function = &*self.name,
                message_id = %message.id,
                dequeue_count = message.dequeue_count,
                "received more often than maxDequeueCount without finishing; moving it to the poison queue"
            );
            return self.poison(&message, &message.pop_receipt).await;
        }
        let span = durable_runtime::execution_log::span("queue", &self.name, "");
        let started = std::time::Instant::now();
        span.in_scope(|| {
            tracing::info!(
                message_id = %message.id,
                dequeue_count = message.dequeue_count,
                reason = %format!("a message on {}", self.function.queue_name),
                "executing"
            )
        });
        let (outcome, receipt) = self
            .run_function(&message, context)
            .instrument(span.clone())
            .await;
        let duration_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(()) => {
                span.in_scope(|| {
                    tracing::info!(message_id = %message.id, outcome = "Succeeded", duration_ms, "executed")
                });
                match self.queue.delete_message(&message.id, &receipt).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(
                        function = &*self.name,
                        message_id = %message.id,
                        "the message's lock was lost during the run; it may run again"
                    ),
                    Err(e) => {
                        tracing::warn!(function = &*self.name, message_id = %message.id, error = %e, "deleting the message failed; it will run again")
                    }
                }
                Settled::Deleted
            }
            Err(failure) => {
                span.in_scope(|| {
                    tracing::warn!(
                        message_id = %message.id,
                        outcome = "Failed",
                        duration_ms,
                        dequeue_count = message.dequeue_count,
                        error = %failure,
                        "queue function failed"
                    )
                });
                if message.dequeue_count >= max {
                    return self.poison(&message, &receipt).await;
                }
                let visible_in = self.options.visibility_timeout;
                if let Err(e) = self.queue.update(&message.id, &receipt, visible_in).await {
                    tracing::warn!(function = &*self.name, message_id = %message.id, error = %e, "releasing the failed message failed; it reappears when its lock runs out");
                }
                Settled::Retried
            }
        }
    }

    /// Runs the function, renewing the message's lock meanwhile; returns the outcome and
    /// the latest pop receipt.
    async fn run_function(
        &self,
        message: &RawMessage,
        context: FunctionContext,
    ) -> (Result<(), Failure>, String) {
        let mut receipt = message.pop_receipt.clone();
        let body = match decode(&message.text, self.options.message_encoding) {
            Ok(body) => body,
            Err(failure) => return (Err(failure), receipt),
        };
        let input = QueueMessage {
            body,
            info: QueueMessageInfo {
                queue_name: self.function.queue_name.clone(),
                id: message.id.clone(),
                dequeue_count: message.dequeue_count,
                insertion_time: message.inserted_at,
                next_visible_time: message.next_visible_at,
                pop_receipt: message.pop_receipt.clone(),
            },
        };
        let run = (self.function.handler)(input, context);
        let mut run = AssertUnwindSafe(run).catch_unwind();
        let outcome = loop {
            tokio::select! {
                outcome = &mut run => break outcome,
                _ = tokio::time::sleep(LOCK / 2) => {
                    match self.queue.update(&message.id, &receipt, LOCK).await {
                        Ok((r, _)) => receipt = r,
                        Err(e) => tracing::warn!(function = &*self.name, message_id = %message.id, error = %e, "renewing the message's lock failed"),
                    }
                }
            }
        };
        let outcome =
            outcome.unwrap_or_else(|panic| Err(crate::triggers::panics::panic_failure(panic)));
        (outcome, receipt)
    }

    /// Copies the message (its text as it was) to the poison queue and deletes it.
    async fn poison(&self, message: &RawMessage, receipt: &str) -> Settled {
        let copied = match self.poison.create_if_not_exists().await {
            Ok(()) => self.poison.put_text(&message.text, Duration::ZERO).await,
            Err(e) => Err(e),
        };
        if let Err(e) = copied {
            tracing::error!(function = &*self.name, message_id = %message.id, error = %e, "cannot move the message to the poison queue; it will be received again");
            return Settled::Retried;
        }
        if let Err(e) = self.queue.delete_message(&message.id, receipt).await {
            tracing::warn!(function = &*self.name, message_id = %message.id, error = %e, "the poisoned message could not be deleted");
        }
        tracing::error!(
            function = &*self.name,
            message_id = %message.id,
            dequeue_count = message.dequeue_count,
            poison_queue = %self.poison.name(),
            "message moved to the poison queue"
        );
        Settled::Poisoned
    }
}

/// The body of a message's text.
fn decode(text: &str, encoding: MessageEncoding) -> Result<Vec<u8>, Failure> {
    match encoding {
        MessageEncoding::None => Ok(text.as_bytes().to_vec()),
        MessageEncoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| {
                Failure::new(
                    crate::app::body::BAD_BODY,
                    format!(
                        "the message is not Base64 ({e}); set host.json \
                         extensions.queues.messageEncoding to \"none\" for plain-text messages"
                    ),
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_or_plain_text() {
        assert_eq!(decode("aGk=", MessageEncoding::Base64).unwrap(), b"hi");
        assert!(decode("not base64!", MessageEncoding::Base64).is_err());
        assert_eq!(decode("hi", MessageEncoding::None).unwrap(), b"hi");
    }
}
