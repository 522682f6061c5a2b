use metrics_runtime::Tag;

#[derive(Tag, Clone, Copy)]
pub enum Never {}

fn main() {}
