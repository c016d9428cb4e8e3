//! The `evlab` binary: glue over the library. See `evlab --help`.

fn main() -> std::process::ExitCode {
    evlab::cli::main()
}
