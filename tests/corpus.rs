//! The regression corpus: every repro file committed under `seeds/` must
//! still reproduce its recorded verdict, first invariant and digest.
//!
//! After a deliberate change to the simulation, re-record the files with
//! `settlesim replay --rewrite FILE`, which names any file whose verdict
//! changed; a file that no longer fails is replaced by a seed that does.

use settlesim::campaign::ReproFile;
use settlesim::world::{run, Verdict};

#[test]
fn every_committed_repro_file_reproduces_its_verdict_and_digest() {
    // Proves past failures stay found, bit for bit, under this build, and
    // that a re-recording has not turned one into a run that holds.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no repro files under {}", dir.display());
    for path in files {
        let repro = ReproFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let report = run(repro.seed, &repro.scenario, repro.options()).report;
        let name = path.display();
        assert_ne!(repro.verdict, Verdict::Held, "{name} records no failure: its seed no longer shows its defect, so find the defect a new one");
        assert_eq!(report.verdict, repro.verdict, "{name}: verdict");
        assert_eq!(
            report.violations.first().map(|v| v.invariant),
            repro.invariant,
            "{name}: invariant"
        );
        assert_eq!(report.digest, repro.digest, "{name}: digest (re-record with `settlesim replay --rewrite` after a deliberate change)");
    }
}
