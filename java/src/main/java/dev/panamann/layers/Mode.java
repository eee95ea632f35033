package dev.panamann.layers;

/** Whether a forward pass trains (batch statistics, dropout, caches for backward) or evaluates. */
public enum Mode { TRAIN, EVAL }
