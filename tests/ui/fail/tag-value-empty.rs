use metrics_runtime::Tag;

#[derive(Tag, Clone, Copy)]
pub enum Status {
    #[tag(value = "2xx")]
    Success,
    #[tag(value = "")]
    Unknown,
}

fn main() {}
