"""Developer and operator tooling that Lambdas never load: CLI, local stack, demo, test fixtures."""
