//! The function app: every function the user's crate defines, registered by the trigger
//! attributes and collected at start-up.

mod registration;

pub use registration::{
    AppError, AuthLevel, FunctionApp, FunctionContext, FunctionKind, FunctionRegistration,
    HttpFunction, HttpHandler, ScheduleStatus, TimerFunction, TimerHandler, TimerInfo,
};
