//! The `hostwatch` binary: parse the command line, run, report failure by exit code
//! (0 ok, 1 runtime failure, 2 bad usage or config; clap exits 2 on bad flags itself).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = std::env::args_os().collect();
    let cli = hostwatch::cli::Cli::parse_with_version(args, hostwatch::app::long_version);
    match hostwatch::app::run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if hostwatch::app::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            hostwatch::app::report_failure(&err);
            ExitCode::from(hostwatch::app::exit_code(&err))
        }
    }
}
