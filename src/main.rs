//! The `contactctl` binary: parse arguments, run the command, map the result to an exit code.
//! Nothing else lives here.

use std::process::ExitCode;

use clap::Parser;
use contactctl::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version exit 0; a usage error is an error (1), never "changes" (2).
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(run(cli));
    // Don't wait for background tasks (a Ctrl-C listener, a sandbox) to wind down.
    runtime.shutdown_background();
    ExitCode::from(code as u8)
}
