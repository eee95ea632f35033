package dev.panamann.samples;

/** Placeholder so the module builds; the samples land with the training stack. */
final class Placeholder {
    private Placeholder() {}
}
