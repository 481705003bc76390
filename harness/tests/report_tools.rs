//! The reports in the real tools: headless Chromium opens the HTML report from `file://`, tshark
//! reads the pcapng. Ignored by `cargo test` (they need `chromium`, `tshark` and a run's
//! reports); `.ci/report-check` installs the tools, writes the reports and runs them with
//! `--ignored`, giving the directory in `IMSPEC_REPORT_DIR`:
//!
//! * `suite.json`, `suite.pcapng`, `suite/`: the suite against the embedded server;
//! * `mutant.json`, `mutant/`: cases against `imspec serve --mutant …` (some fail).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use imspec_harness::report::{html, json, pcap};
use imspec_harness::runner::{CaseResult, Verdict};

fn dir() -> PathBuf {
    PathBuf::from(
        std::env::var_os("IMSPEC_REPORT_DIR")
            .expect("IMSPEC_REPORT_DIR: the directory .ci/report-check writes the reports into"),
    )
}

fn load(name: &str) -> Vec<CaseResult> {
    let p = dir().join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    json::parse(&text).unwrap()
}

/// Chromium, headless, with a profile of its own: the DOM after the page's scripts ran, and a
/// screenshot.
fn chromium(url: &str, screenshot: Option<&Path>) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(p) => cmd.arg(format!("--screenshot={}", p.display())),
        None => cmd.arg("--dump-dom"),
    };
    let out = cmd.arg(url).output().expect("running chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn file_url(p: &Path) -> String {
    format!("file://{}", std::fs::canonicalize(p).unwrap().display())
}

fn assert_png(p: &Path) {
    let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
        "{} is no screenshot",
        p.display()
    );
}

#[test]
#[ignore = "needs chromium and a run's reports (.ci/report-check)"]
fn chromium_index_lists_every_case_and_its_filter_runs() {
    let results = load("suite.json");
    let index = dir().join("suite/index.html");
    let dom = chromium(&file_url(&index), None);
    assert_eq!(dom.matches("<tr class=\"case\"").count(), results.len());
    // The filter script ran: it counts the rows it shows.
    let n = results.len();
    assert!(
        dom.contains(&format!("{n} of {n} shown")),
        "the index's script did not run"
    );
    for variant in html::parity(&results).keys() {
        assert!(dom.contains(&format!("Parity: @{variant}")));
    }
    let shot = dir().join("index.png");
    chromium(&file_url(&index), Some(&shot));
    assert_png(&shot);
}

#[test]
#[ignore = "needs chromium and a run's reports (.ci/report-check)"]
fn chromium_failing_case_page_marks_the_frame_that_failed() {
    let results = load("mutant.json");
    let files = html::file_names(&results);
    let (r, file) = results
        .iter()
        .zip(&files)
        .find(|(r, _)| {
            r.verdict == Verdict::Fail
                && r.failure
                    .as_ref()
                    .and_then(|f| f.waited.as_ref())
                    .is_some_and(|w| w.frame.is_some())
        })
        .expect("a case against the mutant failed on a frame it received");
    let frame = r
        .failure
        .as_ref()
        .unwrap()
        .waited
        .as_ref()
        .unwrap()
        .frame
        .unwrap();
    let page = dir().join("mutant/cases").join(file);
    let dom = chromium(&file_url(&page), None);
    // The page's script adds `selected` to the arrow it opened.
    let marked = dom
        .match_indices("<g class=\"arrow recv failed")
        .any(|(at, _)| {
            dom[at..]
                .split('>')
                .next()
                .is_some_and(|tag| tag.contains(&format!("data-i=\"{frame}\"")))
        });
    assert!(marked, "{}: no marked arrow for frame {frame}", r.id);
    // The page's script opened the failed frame's details: decoded fields and raw bytes.
    assert!(
        dom.contains(&format!("data-shown=\"{frame}\"")),
        "{}: details not shown",
        r.id
    );
    assert!(dom.contains("raw bytes") && dom.contains("000000  "));
    let arrows = r
        .wire
        .iter()
        .filter(|w| w.dir != imspec_harness::runner::Direction::Event)
        .count();
    assert_eq!(dom.matches("<g class=\"arrow ").count(), arrows);
    let shot = dir().join("case.png");
    chromium(&file_url(&page), Some(&shot));
    assert_png(&shot);
}

/// Runs tshark on the pcap with `args`; its standard output.
/// The dissectors the suite's frames need; tshark runs with every other one disabled.
///
/// The pcap carries the real ephemeral ports, and Wireshark binds some dissectors to ports in
/// the ephemeral range (IRC on 57000, EtherNet/IP on 44818, …). A connection whose port happens
/// to be one of them was dissected as that protocol and reported malformed, once in a while,
/// depending on which ports the system handed out (a CI run failed on it).
const DISSECTORS: &[&str] = &[
    "frame",
    "raw",
    "ip",
    "ipv6",
    "tcp",
    "http",
    "websocket",
    "sip",
    "sdp",
    "msrp",
    "msnms",
    "data",
    "data-text-lines",
    "media",
    "xml",
    "json",
    "imf",
    "mime_multipart",
    "urlencoded-form",
];

/// `--disable-protocol` for every protocol tshark knows except [`DISSECTORS`].
fn disabled_protocols() -> Vec<String> {
    let out = Command::new("tshark")
        .args(["-G", "protocols"])
        .output()
        .expect("running tshark -G protocols");
    assert!(out.status.success(), "tshark -G protocols failed");
    let list = String::from_utf8_lossy(&out.stdout);
    let filters: Vec<&str> = list.lines().filter_map(|l| l.split('\t').nth(2)).collect();
    for d in DISSECTORS {
        assert!(filters.contains(d), "tshark has no dissector {d}");
    }
    filters
        .into_iter()
        .filter(|p| !DISSECTORS.contains(p))
        .flat_map(|p| ["--disable-protocol".to_owned(), p.to_owned()])
        .collect()
}

fn tshark(pcap_file: &Path, decode_as: &[String], args: &[&str]) -> String {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(pcap_file);
    cmd.args(disabled_protocols());
    for d in decode_as {
        cmd.arg("-d").arg(d);
    }
    let out = cmd.args(args).output().expect("running tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs tshark and a run's reports (.ci/report-check)"]
fn tshark_reads_every_frame_of_the_suite_and_nothing_malformed() {
    let results = load("suite.json");
    let file = dir().join("suite.pcapng");
    // Decode-as per server port: the embedded server listens on ports Wireshark does not know.
    let mut decode_as: Vec<String> = Vec::new();
    for c in results.iter().flat_map(|r| &r.connections) {
        let port = c.remote.rsplit_once(':').map_or("", |(_, p)| p);
        let dissector = match c.protocol.as_str() {
            "websocket" | "http" => "http",
            p @ ("sip" | "msrp") => p,
            "msnp" => "msnms",
            _ => continue,
        };
        let d = format!("tcp.port=={port},{dissector}");
        if !decode_as.contains(&d) {
            decode_as.push(d);
        }
    }
    let malformed = tshark(
        &file,
        &decode_as,
        &["-Y", "_ws.malformed", "-T", "fields", "-e", "frame.number"],
    );
    assert!(
        malformed.trim().is_empty(),
        "malformed packets: {malformed}"
    );
    let expected = pcap::frame_counts(&results);
    // One line per packet: its protocol stack (`raw:ip:tcp:sip`, `raw:ip:tcp:http:websocket`).
    let stacks = tshark(
        &file,
        &decode_as,
        &["-T", "fields", "-e", "frame.protocols"],
    );
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for line in stacks.lines() {
        let layers: Vec<&str> = line.split(':').collect();
        let Some(tcp) = layers.iter().position(|l| *l == "tcp") else {
            continue;
        };
        let (app, inner) = (layers.get(tcp + 1).copied(), layers.get(tcp + 2).copied());
        let name = match (app, inner) {
            (Some("http"), Some("websocket")) => continue,
            (Some("http"), _) => "http",
            // Wireshark's MSN Messenger dissector.
            (Some("msnms"), _) => "msnp",
            (Some(p @ ("sip" | "msrp")), _) => p,
            _ => continue,
        };
        *seen.entry(name).or_default() += 1;
    }
    let data = tshark(
        &file,
        &decode_as,
        &[
            "-Y",
            "websocket.opcode == 1 || websocket.opcode == 2",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ],
    );
    seen.insert("websocket", data.lines().count());
    for p in ["sip", "msrp", "msnp", "http", "websocket"] {
        let want = expected.get(p).copied().unwrap_or(0);
        assert!(want > 0, "the suite recorded no {p} frame");
        assert_eq!(
            seen.get(p).copied().unwrap_or(0),
            want,
            "{p} frames: tshark vs the recorded bytes"
        );
    }
}
