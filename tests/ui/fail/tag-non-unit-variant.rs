use metrics_runtime::Tag;

#[derive(Tag, Clone, Copy)]
pub enum Status {
    Success,
    Other(u16),
}

fn main() {}
