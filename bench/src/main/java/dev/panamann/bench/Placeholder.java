package dev.panamann.bench;

/** Placeholder so the module builds; the JMH benchmarks land with the ops. */
final class Placeholder {
    private Placeholder() {}
}
