fn main() {
    std::process::exit(ordo::cli::main());
}
