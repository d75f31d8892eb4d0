//! `tetherctl hash-password`: an argon2id PHC string for tetherd's users file, so nobody needs
//! the `argon2` command or Python to make one.
//!
//! The password is never taken from the command line, where `ps` and shell history would show
//! it. On a terminal it is asked twice with echo off (termios through rustix, already in the
//! tree, so no `unsafe` and no new crate); otherwise the first line of standard input is the
//! password (the newline is not part of it). Parameters are the argon2 crate's defaults
//! (argon2id, m = 19 MiB, t = 2, p = 1: the OWASP minimum), which tether-auth's verifier reads
//! from the string itself, with a random 16-byte salt from the kernel.

use std::io::{BufRead, IsTerminal, Read, Write};

use anyhow::{Context, Result, bail};
use argon2::password_hash::{PasswordHasher, SaltString};
use rustix::termios::{self, LocalModes, OptionalActions, Termios};

use crate::cli::Role;
use crate::output::outln;

/// Longest password read: argon2 takes any length, this only bounds a runaway pipe.
const MAX_PASSWORD: usize = 4096;

pub(super) fn hash_password(user: Option<&str>, role: Role) -> Result<u8> {
    let password = if std::io::stdin().is_terminal() {
        let first = prompt("Password: ")?;
        let again = prompt("Again: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        first
    } else {
        read_line(&mut std::io::stdin().lock())?
    };
    if password.is_empty() {
        bail!("empty password");
    }
    let hash = hash(&password)?;
    match user {
        None => outln!("{hash}"),
        Some(name) => outln!("{}", user_entry(name, role, &hash)),
    }
    Ok(0)
}

/// Asks on stderr and reads one line from the terminal with echo off.
fn prompt(question: &str) -> Result<String> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let stdin = std::io::stdin();
    let _echo_off = EchoOff::new(&stdin)?;
    let line = read_line(&mut stdin.lock());
    eprintln!();
    line
}

/// Echo turned off on the terminal until dropped (also on an error path).
struct EchoOff {
    saved: Termios,
}

impl EchoOff {
    fn new(stdin: &std::io::Stdin) -> Result<EchoOff> {
        let saved = termios::tcgetattr(stdin).context("reading the terminal's mode")?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        termios::tcsetattr(stdin, OptionalActions::Flush, &quiet)
            .context("turning the terminal's echo off")?;
        Ok(EchoOff { saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
    }
}

/// One line without its `\n` / `\r\n`.
fn read_line(input: &mut impl BufRead) -> Result<String> {
    let mut line = String::new();
    input
        .take(MAX_PASSWORD as u64 + 2)
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.len() > MAX_PASSWORD {
        bail!("password longer than {MAX_PASSWORD} bytes");
    }
    Ok(line.to_string())
}

/// The PHC string of `password` with a fresh salt.
fn hash(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut salt))
        .context("reading a salt from /dev/urandom")?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    Ok(hash.to_string())
}

/// A `[[user]]` table of the users file.
fn user_entry(name: &str, role: Role, hash: &str) -> String {
    format!(
        "[[user]]\nname = {}\nrole = \"{}\"\npassword_hash = \"{hash}\"",
        toml_string(name),
        role.as_str()
    )
}

/// A TOML basic string: quotes and backslashes escaped, control characters as `\u` escapes.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use argon2::password_hash::{PasswordHash, PasswordVerifier};

    use super::*;

    #[test]
    fn hash_verifies_and_salts_differ() {
        let a = hash("alice-example-only").unwrap();
        let b = hash("alice-example-only").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        let parsed = PasswordHash::new(&a).unwrap();
        let argon = argon2::Argon2::default();
        assert!(
            argon
                .verify_password(b"alice-example-only", &parsed)
                .is_ok()
        );
        assert!(
            argon
                .verify_password(b"alice-example-onlY", &parsed)
                .is_err()
        );
    }

    #[test]
    fn lines_lose_their_end_only() {
        let read = |s: &str| read_line(&mut s.as_bytes());
        assert_eq!(read("pw\n").unwrap(), "pw");
        assert_eq!(read("pw\r\n").unwrap(), "pw");
        assert_eq!(read(" p w \nsecond\n").unwrap(), " p w ");
        assert_eq!(read("").unwrap(), "");
        assert!(read(&"x".repeat(MAX_PASSWORD + 1)).is_err());
        assert_eq!(read(&"x".repeat(MAX_PASSWORD)).unwrap().len(), MAX_PASSWORD);
    }

    #[test]
    fn names_are_toml_strings() {
        assert_eq!(toml_string("alice"), "\"alice\"");
        assert_eq!(toml_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(toml_string("a\nb"), "\"a\\u000Ab\"");
    }
}
