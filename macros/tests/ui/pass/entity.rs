//! Every `#[entity_trigger]` form: function style, struct style with every kind of
//! operation, and a renamed entity.
#![deny(warnings)]

use durable::app::FunctionApp;
use durable::engine::entity::executor::run_batch;
use durable::engine::entity::messages::RequestMessage;
use durable::engine::entity::{EntityContext, EntityOptions, SchedulerState};
use durable::engine::history::{EventKind, HistoryEvent};
use durable::{entity_trigger, Failure};
use serde::{Deserialize, Serialize};

/// Function style.
#[entity_trigger]
fn counter(ctx: &mut EntityContext) -> Result<(), Failure> {
    let value: i64 = ctx.get_state(|| 0)?;
    match ctx.operation_name() {
        "add" => ctx.set_state(&(value + ctx.get_input::<i64>()?)),
        "get" => ctx.set_result(&value),
        op => Err(Failure::new("UnknownOperation", op)),
    }
}

#[derive(Debug)]
pub struct Overdrawn;

impl std::fmt::Display for Overdrawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("overdrawn")
    }
}

impl std::error::Error for Overdrawn {}

/// Struct style.
#[derive(Default, Serialize, Deserialize)]
pub struct Wallet {
    balance: i64,
}

#[entity_trigger(name = "purse")]
impl Wallet {
    /// Mutating, with input, no result.
    pub fn deposit(&mut self, amount: i64) {
        self.balance += amount;
    }

    /// Fallible.
    pub fn withdraw(&mut self, amount: i64) -> Result<i64, Overdrawn> {
        if amount > self.balance {
            return Err(Overdrawn);
        }
        self.balance -= amount;
        Ok(self.balance)
    }

    /// Read-only with a result.
    pub fn get(&self) -> i64 {
        self.balance
    }

    /// With the context.
    pub fn tell(&mut self, ctx: &mut EntityContext, key: String) -> Result<(), Failure> {
        let other = Wallet::entity_id(&key);
        ctx.signal_entity(&other, "deposit", &self.balance)
    }

    /// Not an operation (private, associated).
    fn helper() -> i64 {
        1
    }
}

fn op(name: &str, input: &str) -> HistoryEvent {
    let now = durable::store::clock::now();
    let r = RequestMessage::operation("id".into(), name, Some(input.into()), true, now);
    HistoryEvent::new(
        now,
        EventKind::EventRaised {
            name: "op".into(),
            input: Some(serde_json::to_string(&r).unwrap()),
            parent_trace_context: None,
        },
    )
}

/// The typed proxy: each operation's input and result types are checked.
#[durable::orchestration_trigger]
async fn uses_proxy(ctx: durable::OrchestrationContext) -> Result<i64, Failure> {
    let wallet = Wallet::proxy(&ctx, "w");
    wallet.deposit(5).await?;
    let left: i64 = wallet.withdraw(2).await?;
    wallet.signal_deposit(1);
    assert_eq!(wallet.id(), &Wallet::entity_id("w"));
    Ok(left + wallet.get().await?)
}

fn main() {
    assert_eq!(Wallet::ENTITY_NAME, "purse");
    assert_eq!(Wallet::helper(), 1);
    let app = FunctionApp::collect().unwrap();
    assert!(app.registry.entity("counter").is_some());
    let Some(f) = app.registry.entity("purse") else {
        panic!("not registered")
    };
    let id = Wallet::entity_id("w");
    let events = vec![
        op("Deposit", "5"),
        op("withdraw", "2"),
        op("withdraw", "100"),
        op("get", "null"),
    ];
    let now = durable::store::clock::now();
    let ids = durable::engine::environment::SequentialIds::default();
    let options = EntityOptions::default();
    let out = run_batch(
        &id,
        SchedulerState::default(),
        events,
        Some(&f),
        now,
        &options,
        &ids,
    );
    assert_eq!(out.operations, 4);
    assert_eq!(out.state.state.as_deref(), Some(r#"{"balance":3}"#));
    let deleted = vec![op("delete", "null")];
    let out = run_batch(&id, out.state, deleted, Some(&f), now, &options, &ids);
    assert!(out.state.is_empty());
}
