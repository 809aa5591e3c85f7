// The rules under rules/ are embedded in the binary (include_dir!); rebuild
// when any of them changes, which the macro alone does not guarantee.
fn main() {
    println!("cargo:rerun-if-changed=rules");
}
