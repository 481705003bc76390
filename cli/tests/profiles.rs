//! Target profiles end to end, through the `imspec` binary against `imspec serve` on port 0:
//! the example profiles under `profiles/`, skips for untargeted services, `--targets-from`,
//! fragment replacements and where fragments are found, and the README's walk-through.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::common::{both as text, imspec, root};

use imspec_harness::runner::Profile;
use imspec_harness::scenario::{self, fragment::Sources};

/// `imspec serve ARGS`, killed on drop; `listening` holds its `listening` lines.
struct Serve {
    child: Child,
    listening: String,
}

impl Serve {
    /// Starts `imspec serve` and reads its `lines` listening lines.
    fn start(args: &[&str], lines: usize) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_imspec"))
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("imspec serve starts");
        let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut listening = String::new();
        for _ in 0..lines {
            assert_ne!(
                out.read_line(&mut listening).unwrap(),
                0,
                "serve exited early"
            );
        }
        Self { child, listening }
    }

    /// The listening lines written to a file in `dir`.
    fn targets_file(&self, dir: &Path) -> PathBuf {
        let p = dir.join("listening.txt");
        std::fs::write(&p, &self.listening).unwrap();
        p
    }

    /// The address of `service`.
    fn addr(&self, service: &str) -> String {
        self.listening
            .lines()
            .find_map(|l| l.strip_prefix(&format!("listening {service} ")))
            .unwrap_or_else(|| panic!("no {service} in {}", self.listening))
            .to_owned()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn summary(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find(|l| l.contains(" cases: "))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn example_profiles_load() {
    for p in [
        "reference.yaml",
        "kamailio.yaml",
        "fetion-open-login/profile.yaml",
    ] {
        let profile = Profile::load(&root().join("profiles").join(p)).unwrap();
        assert!(!profile.targets.is_empty(), "{p} names its targets");
    }
}

#[test]
fn reference_profile_passes_against_serve() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&[], 7);
    let from = serve.targets_file(dir.path());
    let o = imspec(&[
        "run",
        "--profile",
        "profiles/reference.yaml",
        "--targets-from",
        from.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(summary(&o).contains(" 0 skipped"), "{}", summary(&o));
}

#[test]
fn open_login_profile_replaces_the_login_fragment() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&["--fetion", "127.0.0.1:0", "--fetion-login", "open"], 2);
    let from = serve.targets_file(dir.path());
    let from = from.to_str().unwrap();
    let with = imspec(&[
        "run",
        "scenarios/fetion",
        "--profile",
        "profiles/fetion-open-login/profile.yaml",
        "--targets-from",
        from,
    ]);
    assert_eq!(with.status.code(), Some(0), "{}", text(&with));
    assert!(
        summary(&with)
            .contains("1 skipped (1 the target does not claim capability `fetion.digest-login`)"),
        "{}",
        summary(&with)
    );
    // The suite's own login meets no challenge and fails: the replacement is what passes.
    let without = imspec(&["run", "scenarios/fetion", "--targets-from", from]);
    assert_eq!(without.status.code(), Some(1), "{}", text(&without));
}

#[test]
fn kamailio_profile_runs_against_the_reference_sip_server() {
    let serve = Serve::start(&["--sip", "127.0.0.1:0"], 2);
    let sip = format!("sip={}", serve.addr("sip"));
    // The reference server passes sip/013, Kamailio's one baseline entry (it would xpass).
    let o = imspec(&[
        "run",
        "scenarios/sip",
        "--profile",
        "profiles/kamailio.yaml",
        "--target",
        &sip,
        "--skip",
        "sip/013-*",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        summary(&o).contains("4 skipped (4 the target does not claim capability `sip.mwi-store`)"),
        "{}",
        summary(&o)
    );
}

/// Issue 14: `--target fetion=… --target fetion-chat=…` alone passes against a correct server,
/// every other protocol's case skipped for want of a target.
#[test]
fn untargeted_services_are_skipped() {
    let serve = Serve::start(&["--fetion", "127.0.0.1:0"], 2);
    let o = imspec(&[
        "run",
        "--target",
        &format!("fetion={}", serve.addr("fetion")),
        "--target",
        &format!("fetion-chat={}", serve.addr("fetion-chat")),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = summary(&o);
    for service in ["leancloud", "msnp", "msnp-gateway", "sip"] {
        assert!(
            s.contains(&format!("no target for service {service}")),
            "{s}"
        );
    }
    assert!(s.contains("14 passed"), "{s}");
}

#[test]
fn usage_errors_exit_2() {
    let o = imspec(&["run", "--only", "nothing/matches-*"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("selected no case"), "{}", text(&o));
    let dir = tempfile::tempdir().unwrap();
    let bad = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        let o = imspec(&["run", "--profile", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        text(&o)
    };
    let e = bad(
        "caps.yaml",
        "password: x\ncapabilities: [fetion.chat, fetion.nope]\n",
    );
    assert!(
        e.contains("caps.yaml:2:1: unknown capability `fetion.nope`"),
        "{e}"
    );
    let e = bad(
        "target.yaml",
        "targets:\n  fetion: 127.0.0.1:1\n  pop3: 127.0.0.1:2\n",
    );
    assert!(
        e.contains("target.yaml:3:3: targets: unknown service `pop3`"),
        "{e}"
    );
    let e = bad("nofrag.yaml", "fragments:\n  fetion/logon: x.yaml\n");
    assert!(
        e.contains("nofrag.yaml:2:3: fragments: no built-in fragment `fetion/logon`"),
        "{e}"
    );
    // A replacement that forgets what the built-in login provides is refused at its line.
    std::fs::write(
        dir.path().join("short.yaml"),
        "params: { actor: alice }\nsteps:\n  - send: ${actor}\n    method: R\n",
    )
    .unwrap();
    let e = bad(
        "short-login.yaml",
        "password: imspec\nfragments:\n  fetion/login: short.yaml\n",
    );
    assert!(
        e.contains("short-login.yaml:3:3: fragments:")
            && e.contains(
                "does not provide what built-in `fetion/login` does: state `${actor} logged in`"
            ),
        "{e}"
    );
    let o = imspec(&["run", "--targets-from", "README.md"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// Issue 15: a case kept outside `scenarios/` finds fragments in its own `fragments/`, then
/// `--fragments DIR`, then the built-in set; a missing one names every place looked in.
#[test]
fn fragments_resolve_outside_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("my-cases");
    let own = cases.join("fragments");
    let shared = dir.path().join("shared");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::create_dir_all(&shared).unwrap();
    let case = cases.join("001-mine.yaml");
    std::fs::write(
        &case,
        "title: t\nprotocol: fetion\nactors: { alice: fetion }\nsteps:\n  - connect: alice\n  - include: login\n  - include: hello\n",
    )
    .unwrap();
    let fragment =
        |step: &str| format!("provides: {{ states: [said hello] }}\nsteps:\n  - {step}\n");
    let load = |dirs: Vec<PathBuf>| {
        scenario::load_with(
            &case,
            &Sources {
                dirs,
                ..Sources::default()
            },
        )
    };
    let missing = load(vec![shared.clone()]).unwrap_err().to_string();
    for place in [own.join("hello.yaml"), shared.join("hello.yaml")] {
        assert!(missing.contains(&place.display().to_string()), "{missing}");
    }
    assert!(missing.contains("fetion/fragments/hello.yaml"), "{missing}");
    assert!(missing.contains("001-mine.yaml:7:3"), "{missing}");
    // --fragments supplies it; `login` falls through to the built-in one (4 steps).
    std::fs::write(shared.join("hello.yaml"), fragment("disconnect: alice")).unwrap();
    let s = load(vec![shared.clone()]).unwrap();
    assert_eq!(s.steps.len(), 1 + 4 + 1);
    assert!(s.steps[5].span.file.starts_with(&shared));
    // The case's own folder comes first.
    std::fs::write(own.join("hello.yaml"), fragment("connect: alice")).unwrap();
    let s = load(vec![shared.clone()]).unwrap();
    assert!(s.steps[5].span.file.starts_with(&own));
    // And through the CLI, against the reference server.
    let o = imspec(&[
        "run",
        case.to_str().unwrap(),
        "--fragments",
        shared.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A built-in case finds its own (built-in) login before --fragments; a profile's
    // replacement of `fetion/login` wins over it.
    std::fs::write(shared.join("login.yaml"), fragment("connect: alice")).unwrap();
    let builtin_case = root().join("scenarios/fetion/013-server-survives-malformed-input.yaml");
    let mut sources = Sources {
        dirs: vec![shared.clone()],
        ..Sources::default()
    };
    let s = scenario::load_with(&builtin_case, &sources).unwrap();
    assert!(
        s.steps[1]
            .span
            .file
            .ends_with("scenarios/fetion/fragments/login.yaml")
    );
    let replacement = root().join("profiles/fetion-open-login/login.yaml");
    sources
        .overrides
        .insert("fetion/login".into(), replacement.clone());
    let s = scenario::load_with(&builtin_case, &sources).unwrap();
    assert_eq!(s.steps[1].span.file, replacement);
    // A declared variable the fragment never writes is refused.
    std::fs::write(
        own.join("hello.yaml"),
        "provides: { vars: [greeting] }\nsteps:\n  - connect: alice\n",
    )
    .unwrap();
    let e = load(vec![]).unwrap_err().to_string();
    assert!(
        e.contains("hello.yaml:1:1: `provides:` declares var `greeting`"),
        "{e}"
    );
}

/// The README's "Testing a server" commands, as written, in a fresh folder with `imspec` on
/// the PATH: they must end with exit status 0, after the first run failed as the text says.
#[test]
fn readme_walkthrough_runs_verbatim() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Testing a server\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has a Testing a server section");
    // The trap only cleans up after a failing script; the README ends the server itself.
    let mut script =
        String::from("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n");
    let mut lines = section.lines();
    while let Some(l) = lines.next() {
        if l == "```sh" {
            for l in lines.by_ref().take_while(|l| *l != "```") {
                script.push_str(l);
                script.push('\n');
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_imspec"), bin.join("imspec")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .output()
        .unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{script}\n{out}");
    assert!(out.contains("imspec run: exit status 1"), "{out}");
    assert!(
        out.contains("FAIL fetion/007-chat-register-reply-has-x"),
        "{out}"
    );
    let last = out
        .lines()
        .rfind(|l| l.contains(" cases: "))
        .unwrap_or_default();
    assert!(
        last.contains(" 0 failed") && last.contains(" 2 xfail"),
        "{last}"
    );
}

/// Issue 14 item 6: `imspec fuzz --profile F` takes the profile's targets; `--target`
/// overrides one.
#[test]
fn fuzz_takes_targets_from_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.yaml");
    // Port 1 on loopback: nothing listens there.
    std::fs::write(&profile, "targets:\n  fetion: 127.0.0.1:1\n").unwrap();
    let out = dir.path().join("findings");
    let fuzz = |extra: &[&str]| {
        let mut args = vec![
            "fuzz",
            "scenarios/fetion/001-seed004-exchange.yaml",
            "--profile",
            profile.to_str().unwrap(),
            "--rounds",
            "2",
            "--seed",
            "1",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        imspec(&args)
    };
    let o = fuzz(&[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("127.0.0.1:1 cannot be reached"),
        "{}",
        text(&o)
    );
    let serve = Serve::start(&["--fetion", "127.0.0.1:0"], 2);
    let o = fuzz(&["--target", &format!("fetion={}", serve.addr("fetion"))]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn list_capabilities_prints_meanings_and_cases() {
    let o = imspec(&["list", "--capabilities"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for c in imspec_harness::scenario::capability::ALL {
        assert!(
            out.contains(&format!("{}  {}\n", c.name, c.meaning)),
            "{}",
            c.name
        );
    }
    assert!(out.contains("fetion.digest-login  the main server challenges R"));
    assert!(
        out.contains("\n    fetion/011-wrong-password-refused\n"),
        "{out}"
    );
}
