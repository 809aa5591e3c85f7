//! A real moto server on a free loopback port, one per test so state never
//! leaks between tests. moto is installed into a virtualenv on first use;
//! when it cannot be installed or started the test fails saying why, it
//! never skips.

use std::fs::{self, File};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The emulator version the tests are written against.
pub const MOTO_VERSION: &str = "5.2.5";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

pub struct MotoServer {
    child: Child,
    pub endpoint: String,
    log: PathBuf,
}

impl MotoServer {
    pub fn start() -> MotoServer {
        Self::start_with_env(&[])
    }

    /// Starts moto with extra environment, e.g. `INITIAL_NO_AUTH_ACTION_COUNT`
    /// to make it enforce IAM policies after the seeding calls.
    pub fn start_with_env(env: &[(&str, &str)]) -> MotoServer {
        let server = moto_server_binary();
        let mut last_failure = String::new();
        // The port is free when probed but another process could take it
        // before moto binds; a couple of retries absorb that race.
        for _ in 0..3 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("rampart-moto-{port}.log"));
            let log_file = File::create(&log)
                .unwrap_or_else(|e| panic!("cannot create moto log {}: {e}", log.display()));
            let stderr = log_file
                .try_clone()
                .unwrap_or_else(|e| panic!("cannot clone moto log handle: {e}"));
            let child = Command::new(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(log_file)
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
            let mut server = MotoServer {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
                log,
            };
            match server.wait_until_listening(port) {
                Ok(()) => return server,
                Err(why) => last_failure = why,
            }
        }
        panic!("moto server could not be started: {last_failure}");
    }

    fn wait_until_listening(&mut self, port: u16) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "moto_server exited with {status}; its log says:\n{}",
                    self.log_text()
                ));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "moto_server did not listen on port {port} within {STARTUP_TIMEOUT:?}; its log says:\n{}",
            self.log_text()
        ))
    }

    fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }
}

impl MotoServer {
    /// Kills the emulator, as a crash or a lost host would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_file(&self.log);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot find a free loopback port: {e}"))
}

/// `moto_server` from `RAMPART_MOTO_SERVER`, or from a virtualenv kept in
/// the user's cache directory (created on first use, shared by every clone
/// and test binary, guarded by a file lock while it is being built).
fn moto_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("RAMPART_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = venv_dir();
    let binary = venv.join("bin").join("moto_server");
    let ready = venv.join(".rampart-ready");
    if ready.exists() {
        return binary;
    }
    fs::create_dir_all(&venv).unwrap_or_else(|e| panic!("cannot create {}: {e}", venv.display()));
    let lock = File::create(venv.with_extension("lock"))
        .unwrap_or_else(|e| panic!("cannot create the moto install lock: {e}"));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock the moto install: {e}"));
    if !ready.exists() {
        install_moto(&venv);
        fs::write(&ready, MOTO_VERSION)
            .unwrap_or_else(|e| panic!("cannot mark {} ready: {e}", venv.display()));
    }
    binary
}

fn venv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RAMPART_MOTO_VENV") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("rampart").join(format!("moto-{MOTO_VERSION}"))
}

fn install_moto(venv: &Path) {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run(Command::new(&python)
        .args(["-m", "venv", "--clear"])
        .arg(venv));
    run(Command::new(venv.join("bin").join("pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("moto[server]=={MOTO_VERSION}"),
    ]));
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?} to install moto: {e}"));
    assert!(
        output.status.success(),
        "installing moto failed: {command:?} exited with {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
