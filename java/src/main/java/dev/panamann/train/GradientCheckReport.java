package dev.panamann.train;

import dev.panamann.models.Model;
import dev.panamann.tensor.Param;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A table of a model's gradient check ({@link GradientCheck#checkModel}), as the command line prints it. */
public final class GradientCheckReport {
    private GradientCheckReport() {}

    /**
     * Prints a gradient check: per parameter its shape, elements checked, cs231n relative error,
     * the deciding error and PASS / FAIL, the worst element of each failure, and a last line
     * PASS or FAIL.
     *
     * @param net       the checked model
     * @param results   {@link GradientCheck#checkModel}'s results by param name
     * @param samples   elements checked per param (0: all)
     * @param tolerance largest error that passes
     * @param out       where to print
     * @return whether every parameter passed
     */
    public static boolean print(Model net, Map<String, GradientCheck.Result> results, int samples, double tolerance, PrintStream out) {
        Map<String, Param> params = net.paramMap();
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"param", "shape", "checked", "rel error", "error", "result"});
        boolean ok = true;
        for (var e : results.entrySet()) {
            Param p = params.get(e.getKey());
            if (p == null) throw new IllegalArgumentException("the model has no parameter '" + e.getKey() + "'");
            GradientCheck.Result r = e.getValue();
            boolean pass = r.ok(tolerance);
            ok &= pass;
            long checked = samples == 0 ? p.value().size() : Math.min(samples, p.value().size());
            rows.add(new String[] {e.getKey(), p.value().shapeString(), Long.toString(checked), String.format(Locale.ROOT, "%.2e", r.relError()),
                    String.format(Locale.ROOT, "%.2e", r.error()), pass ? "PASS" : "FAIL"});
        }
        int[] w = new int[6];
        for (String[] row : rows) for (int i = 0; i < 6; i++) w[i] = Math.max(w[i], row[i].length());
        for (String[] row : rows) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 6; i++) sb.append(i == 0 ? "" : "  ").append(String.format(i <= 1 ? "%-" + w[i] + "s" : "%" + w[i] + "s", row[i]));
            out.println(sb);
        }
        for (var e : results.entrySet()) {
            GradientCheck.Result r = e.getValue();
            if (!r.ok(tolerance)) {
                out.printf(Locale.ROOT, "  %s: worst element %d: analytic %.6e, numeric (centered) %.6e%n", e.getKey(),
                        r.worstIndex(), r.analytic(), r.numeric());
            }
        }
        out.println("rel error: cs231n max |a - n| / (|a| + |n|) of the centered difference (large where a value is ~0 or a kink is hit); "
                + "error: the floored, kink-aware error that decides");
        if (!ok) {
            out.println("A failure on one or two parameters of a net with ReLU or max pooling can be a kink of the loss within a step"
                    + " of the weight (seen as a large gap between analytic and numeric); a wrong gradient fails for every seed.");
        }
        out.println(ok ? "PASS" : "FAIL");
        return ok;
    }
}
