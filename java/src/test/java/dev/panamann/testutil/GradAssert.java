package dev.panamann.testutil;

import dev.panamann.train.GradientCheck;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Map;

/** Assertions over {@link GradientCheck} results, with every result in the failure message. */
public final class GradAssert {
    private GradAssert() {}

    /** Fails unless every result is within {@link GradientCheck#TOLERANCE}. */
    public static void allOk(String context, Map<String, GradientCheck.Result> results) {
        allOk(context, results, GradientCheck.TOLERANCE);
    }

    public static void allOk(String context, Map<String, GradientCheck.Result> results, double tolerance) {
        assertTrue(!results.isEmpty(), context + ": nothing was checked");
        if (Boolean.getBoolean("panamann.printGradErrors")) System.out.println(context + " " + results.values());
        for (GradientCheck.Result r : results.values()) {
            if (!r.ok(tolerance)) fail(context + ": gradient check failed for " + r + "; all: " + results.values());
        }
    }

    public static void ok(String context, GradientCheck.Result r) {
        allOk(context, Map.of(r.name(), r));
    }
}
