//! Writing to standard output without panicking.
//!
//! `println!` panics when stdout is closed, which `tetherctl ... | head` does as a matter of
//! course; every command prints through these macros instead, so a closed pipe ends the
//! program quietly with status 0.

/// `println!` that ends the program quietly when stdout is closed (`tetherctl ... | head`)
/// instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($t)*) {
            $crate::output::closed_stdout(e)
        }
    }};
}

/// `print!` with the same behaviour.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($t)*) {
            $crate::output::closed_stdout(e)
        }
    }};
}

pub(crate) use {out, outln};

/// Exits 0 on a closed pipe (the reader has what it wanted), 1 on any other write error.
pub(crate) fn closed_stdout(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("% cannot write the output: {e}");
    std::process::exit(1);
}
