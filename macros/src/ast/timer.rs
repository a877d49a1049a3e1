//! `#[timer_trigger(schedule = "0 */5 * * * *", run_on_startup = false)]` on
//! `async fn NAME(timer: TimerInfo, #[durable_client] client: DurableClient)
//! -> Result<(), E>` (or no return type).

use proc_macro2::{Span, TokenStream};
use syn::{ItemFn, ReturnType, Type};

use super::bindings::{self, Bindings, TriggerParam};
use super::signature::{check_plain_async_fn, display, result_ok_type};
use crate::args::Args;
use crate::names::RegisteredName;

const ATTRIBUTE: &str = "timer_trigger";
const ACCEPTED: &[&str] = &["name", "schedule", "run_on_startup"];
const EXAMPLE: &str = "\"0 */5 * * * *\"";

/// What the timer function returns.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TimerReturn {
    /// Nothing: every run succeeds.
    Unit,
    /// `Result<(), E>`: errors are logged as failed runs.
    Result,
}

/// A parsed timer function.
pub struct TimerFn {
    /// The user's function, with the `#[durable_client]` marker removed.
    pub func: ItemFn,
    /// The registered name.
    pub name: RegisteredName,
    /// The six-field NCRONTAB expression.
    pub schedule: String,
    /// Also run once when the host starts.
    pub run_on_startup: bool,
    /// What to pass for each parameter.
    pub bindings: Bindings,
    /// The return shape.
    pub returns: TimerReturn,
}

/// Parses the attribute arguments and the function.
pub fn parse(args: TokenStream, mut func: ItemFn) -> syn::Result<TimerFn> {
    let mut args = Args::parse(ATTRIBUTE, args)?;
    let name_override = args.take_str("name", "\"my_timer\"")?;
    let schedule = args.take_str("schedule", EXAMPLE)?;
    let run_on_startup = args.take_bool("run_on_startup")?;
    args.finish(ACCEPTED)?;

    let Some(schedule) = schedule else {
        return Err(syn::Error::new(
            Span::call_site(),
            format!(
                "#[timer_trigger] needs a `schedule`, a six-field NCRONTAB expression \
                 (second minute hour day month day-of-week), e.g. \
                 #[timer_trigger(schedule = {EXAMPLE})]"
            ),
        ));
    };
    check_schedule(&schedule.value(), schedule.span())?;

    check_plain_async_fn(&func.sig, ATTRIBUTE)?;
    let bindings = bindings::parse(
        &mut func.sig,
        &TriggerParam {
            type_name: "TimerInfo",
            bound: "TimerInfoParam",
            example: "timer: TimerInfo",
            what: "a timer function",
        },
    )?;
    let returns = match &func.sig.output {
        ReturnType::Default => TimerReturn::Unit,
        ReturnType::Type(_, ty) if is_unit(ty) => TimerReturn::Unit,
        ReturnType::Type(_, ty) if result_ok_type(ty).is_some() => TimerReturn::Result,
        ReturnType::Type(_, ty) => {
            return Err(syn::Error::new_spanned(
                ty,
                format!(
                    "a timer function returns nothing or `Result<(), E>` where \
                     `E: Into<durable::Failure>`; found `{}`",
                    display(ty)
                ),
            ))
        }
    };
    let name = RegisteredName::new(name_override, &func.sig.ident)?;
    Ok(TimerFn {
        func,
        name,
        schedule: schedule.value(),
        run_on_startup: run_on_startup.is_some_and(|b| b.value),
        bindings,
        returns,
    })
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(t) if t.elems.is_empty())
}

/// A schedule is six whitespace-separated fields: NCRONTAB with seconds, as Azure Functions
/// timers use (a five-field Unix cron line is the usual mistake).
fn check_schedule(schedule: &str, span: Span) -> syn::Result<()> {
    let fields = schedule.split_whitespace().count();
    if fields == 6 {
        return Ok(());
    }
    let hint = if fields == 5 {
        "; this looks like a five-field cron line: add the seconds field first, e.g. \
         \"0 */5 * * * *\" runs every five minutes"
    } else {
        ""
    };
    Err(syn::Error::new(
        span,
        format!(
            "the schedule {schedule:?} has {fields} field(s), expected 6: an NCRONTAB \
             expression `{{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}`, \
             e.g. {EXAMPLE}{hint}"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_need_six_fields() {
        let s = Span::call_site();
        assert!(check_schedule("0 */5 * * * *", s).is_ok());
        assert!(check_schedule("  0  0 9 * * MON-FRI ", s).is_ok());
        assert!(check_schedule("*/5 * * * *", s).is_err());
        assert!(check_schedule("", s).is_err());
        assert!(check_schedule("0 0 0 0 0 0 0", s).is_err());
    }
}
