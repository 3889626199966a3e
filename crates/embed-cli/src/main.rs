//! `embed`: train, evaluate, query, convert and compare embeddings.
//!
//! Every command prints one clear error line and exits non-zero on failure.

mod commands;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Command;

/// Train, evaluate, query, convert and compare word and contextual embeddings.
#[derive(Debug, Parser)]
#[command(name = "embed", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("embed: error: {error}");
            ExitCode::FAILURE
        }
    }
}
