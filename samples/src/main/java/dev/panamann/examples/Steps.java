package dev.panamann.examples;

import java.io.PrintStream;

/** The titled steps an example program prints. */
final class Steps {
    private Steps() {}

    /** A title line for a step of a sample: "== title ==", after an empty line. */
    static void section(PrintStream out, String title) {
        out.println();
        out.println("== " + title + " ==");
    }
}
