//! The repository keeps the contract as `SPEC.md` so that it stands alone; this is the one place
//! that reads the shared specification folder (`../shared/SPEC.md`, beside the clone), and it
//! fails when the copy differs from it.

use std::path::PathBuf;

#[test]
fn spec_md_equals_the_shared_contract() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let copy = std::fs::read(repo.join("SPEC.md")).expect("SPEC.md in the repository");
    let shared_path = repo.join("../shared/SPEC.md");
    let Ok(shared) = std::fs::read(&shared_path) else {
        // Outside the workplace (a clone on its own) there is nothing to compare with.
        eprintln!("{}: not present, nothing to compare", shared_path.display());
        return;
    };
    assert!(
        copy == shared,
        "SPEC.md differs from ../shared/SPEC.md: the contract changed; copy it and implement what it asks"
    );
}
