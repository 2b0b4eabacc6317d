//! A `--watch` command running in the background: its output line by line as it comes,
//! waiting for a line, and Ctrl-C.

use super::run::ankideck_command;
use std::io::{BufRead, BufReader};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// How long a watching command may take to say something expected: a rebuild takes well
/// under a second, but the suite runs beside it on two shared cores.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// `ankideck ARGS` running, killed when dropped.
pub struct Watching {
    child: Child,
    lines: Receiver<String>,
    /// Every line so far, stdout and stderr interleaved as they came.
    pub seen: Vec<String>,
}

impl Watching {
    /// Starts `ankideck` with `args` and `env`, its stdout and stderr in one pipe so
    /// that their lines keep their order.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Watching {
        let (reader, writer) = std::io::pipe().unwrap();
        let mut command = ankideck_command();
        command
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(writer.try_clone().unwrap())
            .stderr(writer);
        let child = command.spawn().unwrap();
        // Only the child holds the writing end now, so the reader ends with it.
        drop(command);
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        Watching {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `text`; returns the lines since the last call, up to
    /// and with that one. Panics with all it saw after [`PATIENCE`].
    #[track_caller]
    pub fn expect(&mut self, text: &str) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        let from = self.seen.len();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return self.seen[from..].to_vec();
                    }
                }
                Err(_) => panic!("no line with `{text}`; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// The lines that come within `time`, without waiting for any in particular.
    pub fn lines_within(&mut self, time: Duration) -> Vec<String> {
        let deadline = Instant::now() + time;
        let from = self.seen.len();
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(line);
        }
        self.seen[from..].to_vec()
    }

    /// Sends `SIGINT`, as Ctrl-C does; returns how it exited and what it said last.
    pub fn interrupt(mut self) -> (ExitStatus, Vec<String>) {
        let sent = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        // The readers end with the process's pipes.
        let rest: Vec<String> = self.lines.iter().collect();
        self.seen.extend(rest.iter().cloned());
        (status, rest)
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET url` from a server on this machine: the status code and the body.
pub fn http_get(url: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http:// address");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        stream,
        "GET /{path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}
