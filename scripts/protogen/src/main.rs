//! Generates `metrics-runtime/src/expose/proto/*.rs` from the official `.proto` files under
//! `proto/` with `prost-build`, parsing them with `protox` (no `protoc` needed).

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let protos = root.join("proto");
    let out = root.join("metrics-runtime/src/expose/proto");
    std::fs::create_dir_all(&out).expect("create the output directory");
    let files = ["io/prometheus/client/metrics.proto"];
    let descriptors = protox::compile(files, [&protos]).expect("parse the .proto files");
    prost_build::Config::new()
        .out_dir(&out)
        .compile_fds(descriptors)
        .expect("generate the Rust types");
}
