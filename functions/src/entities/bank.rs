//! A bank: `account` entities and a `transfer` orchestration that locks both accounts (a
//! critical section), checks the balance and moves the money. Each transfer has an id; an
//! account records the ids it applied, so a transfer can never be applied twice.

use std::collections::BTreeSet;

use durable::{entity_trigger, orchestration_trigger, Failure, OrchestrationContext};
use serde::{Deserialize, Serialize};

/// An account's state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Account {
    balance: i64,
    applied: BTreeSet<String>,
}

/// One side of a transfer: `amount` is negative for the payer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Posting {
    /// The transfer's id.
    pub transfer_id: String,
    /// Signed amount.
    pub amount: i64,
}

/// What `get` shows.
#[derive(Debug, Serialize, Deserialize)]
pub struct Statement {
    /// The balance.
    pub balance: i64,
    /// Ids of the transfers applied to this account.
    pub applied: Vec<String>,
}

#[entity_trigger]
impl Account {
    /// Adds money from outside the bank.
    pub fn deposit(&mut self, amount: i64) {
        self.balance += amount;
    }

    /// Applies one side of a transfer; false (and no change) if it was already applied.
    pub fn post(&mut self, posting: Posting) -> bool {
        if !self.applied.insert(posting.transfer_id) {
            return false;
        }
        self.balance += posting.amount;
        true
    }

    /// The balance.
    pub fn balance(&self) -> i64 {
        self.balance
    }

    /// The balance and the applied transfers.
    pub fn get(&self) -> Statement {
        Statement {
            balance: self.balance,
            applied: self.applied.iter().cloned().collect(),
        }
    }
}

/// A transfer request.
#[derive(Debug, Serialize, Deserialize)]
pub struct Transfer {
    /// Unique id of the transfer.
    pub id: String,
    /// Paying account key.
    pub from: String,
    /// Receiving account key.
    pub to: String,
    /// Amount (positive).
    pub amount: i64,
}

/// Moves `amount` from one account to another if the payer has enough; true if it did.
#[orchestration_trigger]
pub async fn transfer(ctx: OrchestrationContext, t: Transfer) -> Result<bool, Failure> {
    if t.amount <= 0 || t.from == t.to {
        return Err(Failure::new(
            "InvalidTransfer",
            "a transfer moves a positive amount between two different accounts",
        ));
    }
    let (from, to) = (Account::proxy(&ctx, &t.from), Account::proxy(&ctx, &t.to));
    let _section = ctx.lock(&[from.id().clone(), to.id().clone()]).await?;
    let balance = from.balance().await?;
    if balance < t.amount {
        return Ok(false);
    }
    let debit = Posting {
        transfer_id: t.id.clone(),
        amount: -t.amount,
    };
    let credit = Posting {
        transfer_id: t.id,
        amount: t.amount,
    };
    let debited = from.post(debit).await?;
    let credited = to.post(credit).await?;
    Ok(debited && credited)
}
