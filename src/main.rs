//! The sigctl binary: parse arguments, run, render, exit. Everything else is the library.

fn main() -> std::process::ExitCode {
    sigctl::cli::run(std::env::args_os())
}
