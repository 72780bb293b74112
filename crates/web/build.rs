//! The assets are embedded by a derive macro, which cargo does not know reads files:
//! this tells cargo to rebuild the crate whenever anything under `assets/` changes.

fn main() {
    println!("cargo:rerun-if-changed=assets");
}
