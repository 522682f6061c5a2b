use metrics_runtime::Tag;

#[derive(Tag, Clone, Copy)]
pub enum Status {
    #[tag(value = "2xx")]
    Ok,
    #[tag(value = "2xx")]
    Created,
}

fn main() {}
