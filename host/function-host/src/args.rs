//! Command-line arguments of a function app binary.

use super::config::parse_port;

/// The help text.
pub const USAGE: &str = "\
Runs the function app: its HTTP functions, timers, orchestrations and activities.

Usage: <app> [--port <PORT>]
       <app> health [--port <PORT>]   exit 0 if the host running here is ready, else 1
       <app> export-history [--name <ORCHESTRATOR>] [--limit <N>] [--output <DIR>] [<ID>...]
                                      write instances' histories as JSON for the replay check
                                      (<app> export-history --help)

Options:
  -p, --port <PORT>  HTTP port (overrides FUNCTIONS_HTTP_PORT and Host.LocalHttpPort;
                     0 picks a free port)
  -h, --help         Print this help

Configuration is read from local.settings.json and host.json in the working directory;
environment variables override both. See docs/host.md.";

/// Parsed arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostArgs {
    /// `--port`.
    pub port: Option<u16>,
    /// `--help`.
    pub help: bool,
    /// `health`: probe the running host's readiness instead of running one.
    pub health: bool,
    /// `export-history ...`: the arguments after it (see [`crate::export`]).
    pub export: Option<Vec<String>>,
}

/// Arguments that cannot be understood.
#[derive(Debug, thiserror::Error)]
#[error("{0}\n\n{USAGE}")]
pub struct ArgsError(String);

impl HostArgs {
    /// Parses arguments (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, ArgsError> {
        let mut parsed = HostArgs::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            match flag.as_str() {
                "-h" | "--help" => parsed.help = true,
                "health" => parsed.health = true,
                "export-history" if parsed == HostArgs::default() => {
                    parsed.export = Some(args.by_ref().collect());
                }
                "-p" | "--port" => {
                    let value = inline
                        .or_else(|| args.next())
                        .ok_or_else(|| ArgsError("--port needs a value".into()))?;
                    let port =
                        parse_port("--port", &value).map_err(|e| ArgsError(e.to_string()))?;
                    parsed.port = Some(port);
                }
                _ => return Err(ArgsError(format!("unknown argument {arg:?}"))),
            }
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<HostArgs, ArgsError> {
        HostArgs::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn ports_and_help() {
        assert_eq!(parse(&[]).unwrap(), HostArgs::default());
        assert_eq!(parse(&["--port", "0"]).unwrap().port, Some(0));
        assert_eq!(parse(&["--port=8080"]).unwrap().port, Some(8080));
        assert_eq!(parse(&["-p", "1"]).unwrap().port, Some(1));
        assert!(parse(&["--help"]).unwrap().help);
        let export = parse(&["export-history", "--output", "h", "a"]).unwrap();
        assert_eq!(
            export.export,
            Some(vec!["--output".into(), "h".into(), "a".into()])
        );
        assert!(parse(&["--port", "1", "export-history"]).is_err());
        let health = parse(&["health", "--port", "7071"]).unwrap();
        assert!(health.health && health.port == Some(7071));
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        let err = parse(&["--verbose"]).unwrap_err().to_string();
        assert!(err.contains("--verbose") && err.contains("Usage"), "{err}");
    }
}
