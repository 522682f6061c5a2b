use metrics_runtime::Tag;

#[derive(Tag, Clone, Copy)]
pub enum Status {
    #[tag(valeu = "2xx")]
    Success,
    Failure,
}

fn main() {}
