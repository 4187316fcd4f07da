//! The `newsdesk` binary: parses the command line and calls into the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
