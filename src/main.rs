//! The command line: parse arguments, load config, run a subcommand.
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "creditbot",
    version,
    about = "Answers members' questions about their digital credits"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Question understanding: classify questions or evaluate the matcher.
    Faq {
        #[command(subcommand)]
        action: FaqAction,
    },
}

#[derive(Subcommand)]
enum FaqAction {
    /// Read questions from stdin, one per line; print `<intent>\t<score>` for each.
    Classify,
    /// Evaluate against a TSV of `intent<TAB>question` lines.
    Eval { file: PathBuf },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Faq {
            action: FaqAction::Classify,
        }) => creditbot::faq::run_classify(std::io::stdin().lock(), std::io::stdout().lock()),
        Some(Command::Faq {
            action: FaqAction::Eval { file },
        }) => creditbot::faq::run_eval(&file, std::io::stdout().lock()),
        None => Ok(()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("creditbot: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
