package dev.panamann.train;

import dev.panamann.io.AtomicFiles;
import dev.panamann.io.ModelIO;
import dev.panamann.models.Model;
import dev.panamann.tensor.Rng;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Grid search and random search over named hyperparameters (learning rate, regularization,
 * hidden size, ...), as in the cs231n assignments.
 *
 * <pre>{@code
 * HyperparameterSearch search = new HyperparameterSearch()
 *         .logUniform("lr", 1e-4, 1e-2)
 *         .logUniform("reg", 1e-5, 1e-1)
 *         .values("hidden", 50, 100, 200);
 * search.randomSearch(20, 0, trial -> {
 *     TwoLayerNet net = new TwoLayerNet(3072, trial.getInt("hidden"), 10, trial.get("reg"), ...);
 *     Solver solver = new Solver(net, train, val).optimConfig(Map.of("learning_rate", trial.get("lr")))
 *             .numEpochs(5).verbose(false);
 *     solver.train();
 *     solver.close();
 *     return HyperparameterSearch.Outcome.of(solver);
 * });
 * search.printTable(System.out);
 * search.writeCsv(Path.of("search.csv"));
 * search.saveBest(Path.of("best.safetensors"));
 * Model best = search.bestModel();   // the caller closes it
 * }</pre>
 *
 * <p>{@link #values} names a discrete set (a grid axis, or a uniform choice in random search);
 * {@link #logUniform} / {@link #logUniformInt} / {@link #uniform} name ranges, sampled by
 * random search only. The trial function trains whatever it likes and returns the model and
 * its validation accuracy. A trial that throws is recorded with its error and the search goes
 * on.
 *
 * <p>Ownership of models: the search keeps the model of the best trial so far and closes every
 * other model as soon as it is not (or no longer) the best. The best model at the end is the
 * caller's: get it with {@link #bestModel()} and close it when done.
 */
public final class HyperparameterSearch {
    private final Map<String, Space> spaces = new LinkedHashMap<>();
    private final List<Result> results = new ArrayList<>();
    private Model bestModel;
    private Result best;
    private PrintStream out = System.out;
    private boolean verbose = true;

    private record Space(double[] values, double lo, double hi, boolean log, boolean integer) {
        boolean discrete() { return values != null; }
    }

    /** What a trial gets: its number (from 1) and the hyperparameters by name. */
    public record Trial(int index, Map<String, Double> params) {
        /** The value of a hyperparameter; throws naming the known ones when absent. */
        public double get(String name) {
            Double v = params.get(name);
            if (v == null) throw new IllegalArgumentException("no hyperparameter '" + name + "' (known: " + params.keySet() + ")");
            return v;
        }

        /** The value rounded to an int (hidden sizes, batch sizes). */
        public int getInt(String name) { return (int) Math.round(get(name)); }
    }

    /**
     * What a trial returns.
     *
     * @param model    the trained model (handed to the search, see the class comment); may be null
     * @param valAcc   validation accuracy, the score trials are ranked by
     * @param trainAcc training accuracy (NaN if unknown)
     */
    public record Outcome(Model model, double valAcc, double trainAcc) {
        /** The solver's model, best validation accuracy and last training accuracy. */
        public static Outcome of(Solver s) {
            List<Float> t = s.trainAccHistory();
            return new Outcome(s.model(), s.bestValAcc(), t.isEmpty() ? Double.NaN : t.get(t.size() - 1));
        }
    }

    /** Trains one configuration. */
    @FunctionalInterface
    public interface TrialRunner {
        Outcome run(Trial trial) throws Exception;
    }

    /**
     * One finished trial.
     *
     * @param trial    trial number, from 1
     * @param params   hyperparameters by name
     * @param valAcc   validation accuracy (NaN when the trial failed)
     * @param trainAcc training accuracy (NaN when unknown)
     * @param seconds  wall time of the trial
     * @param error    the failure's message, or null
     */
    public record Result(int trial, Map<String, Double> params, double valAcc, double trainAcc, double seconds, String error) {}

    // ------------------------------------------------------------------ space

    /** A discrete set of values: a grid axis, or a uniform choice in random search. */
    public HyperparameterSearch values(String name, double... values) {
        checkName(name);
        if (values.length == 0) throw new IllegalArgumentException("hyperparameter '" + name + "' needs at least one value");
        for (double v : values) {
            if (!Double.isFinite(v)) throw new IllegalArgumentException("hyperparameter '" + name + "' has value " + v);
        }
        spaces.put(name, new Space(values.clone(), 0, 0, false, false));
        return this;
    }

    /** A range sampled log-uniformly (exp of a uniform in [log lo, log hi]); 0 &lt; lo &lt;= hi. */
    public HyperparameterSearch logUniform(String name, double lo, double hi) {
        checkName(name);
        if (!(lo > 0) || !(hi >= lo) || !Double.isFinite(hi)) {
            throw new IllegalArgumentException("log-uniform range of '" + name + "' needs 0 < lo <= hi, got [" + lo + ", " + hi + "]");
        }
        spaces.put(name, new Space(null, lo, hi, true, false));
        return this;
    }

    /** An integer range sampled log-uniformly and rounded (e.g. hidden sizes); 1 &lt;= lo &lt;= hi. */
    public HyperparameterSearch logUniformInt(String name, int lo, int hi) {
        checkName(name);
        if (lo < 1 || hi < lo) throw new IllegalArgumentException("log-uniform int range of '" + name + "' needs 1 <= lo <= hi, got [" + lo + ", " + hi + "]");
        spaces.put(name, new Space(null, lo, hi, true, true));
        return this;
    }

    /** A range sampled uniformly; lo &lt;= hi. */
    public HyperparameterSearch uniform(String name, double lo, double hi) {
        checkName(name);
        if (!(hi >= lo) || !Double.isFinite(lo) || !Double.isFinite(hi)) {
            throw new IllegalArgumentException("uniform range of '" + name + "' needs lo <= hi, got [" + lo + ", " + hi + "]");
        }
        spaces.put(name, new Space(null, lo, hi, false, false));
        return this;
    }

    private void checkName(String name) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("hyperparameter name is empty");
        if (name.contains(",") || name.contains("\"")) throw new IllegalArgumentException("hyperparameter name '" + name + "' has a comma or quote");
    }

    /** Where progress and tables go (default System.out). */
    public HyperparameterSearch out(PrintStream stream) {
        this.out = stream;
        return this;
    }

    /** Print a line per trial (default true). */
    public HyperparameterSearch verbose(boolean v) {
        this.verbose = v;
        return this;
    }

    // ------------------------------------------------------------------ search

    /**
     * Runs every combination of the {@link #values} axes (the last axis varies fastest).
     *
     * @return all results so far, best first
     */
    public List<Result> gridSearch(TrialRunner runner) {
        if (spaces.isEmpty()) throw new IllegalArgumentException("no hyperparameters to search: add values(...)");
        List<String> names = new ArrayList<>(spaces.keySet());
        long total = 1;
        for (String n : names) {
            Space s = spaces.get(n);
            if (!s.discrete()) {
                throw new IllegalArgumentException("grid search needs discrete values for '" + n
                        + "' (a range is for random search); use values(\"" + n + "\", ...)");
            }
            total *= s.values().length;
        }
        int[] idx = new int[names.size()];
        for (long k = 0; k < total; k++) {
            Map<String, Double> p = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) p.put(names.get(i), spaces.get(names.get(i)).values()[idx[i]]);
            runTrial(runner, p, (int) k + 1, (int) total);
            for (int i = names.size() - 1; i >= 0; i--) {
                if (++idx[i] < spaces.get(names.get(i)).values().length) break;
                idx[i] = 0;
            }
        }
        return results();
    }

    /**
     * Runs {@code trials} trials with hyperparameters drawn independently at random.
     *
     * @param trials number of trials, &gt;= 1
     * @param seed   seed of the draws (the same seed gives the same configurations)
     * @return all results so far, best first
     */
    public List<Result> randomSearch(int trials, long seed, TrialRunner runner) {
        if (trials < 1) throw new IllegalArgumentException("number of trials must be >= 1, got " + trials);
        if (spaces.isEmpty()) throw new IllegalArgumentException("no hyperparameters to search");
        Rng rng = new Rng(seed);
        List<Map<String, Double>> draws = new ArrayList<>();
        for (int k = 0; k < trials; k++) {
            Map<String, Double> p = new LinkedHashMap<>();
            for (var e : spaces.entrySet()) p.put(e.getKey(), sample(e.getValue(), rng));
            draws.add(p);
        }
        for (int k = 0; k < trials; k++) runTrial(runner, draws.get(k), k + 1, trials);
        return results();
    }

    static double sample(Space s, Rng rng) {
        if (s.discrete()) return s.values()[rng.nextInt(s.values().length)];
        double u = rng.nextDouble(), v;
        if (s.log()) v = Math.exp(Math.log(s.lo()) + u * (Math.log(s.hi()) - Math.log(s.lo())));
        else v = s.lo() + u * (s.hi() - s.lo());
        if (s.integer()) v = Math.round(v);
        return Math.min(s.hi(), Math.max(s.lo(), v));
    }

    private void runTrial(TrialRunner runner, Map<String, Double> params, int position, int of) {
        int index = results.size() + 1;
        Map<String, Double> p = Collections.unmodifiableMap(params);
        long t0 = System.nanoTime();
        Outcome o = null;
        String error = null;
        try {
            o = runner.run(new Trial(index, p));
            if (o == null) error = "trial returned no outcome";
        } catch (Exception e) {
            error = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        Result r = o == null ? new Result(index, p, Double.NaN, Double.NaN, seconds, error)
                : new Result(index, p, o.valAcc(), o.trainAcc(), seconds, null);
        results.add(r);
        Model model = o == null ? null : o.model();
        if (error == null && !Double.isNaN(r.valAcc()) && (best == null || r.valAcc() > best.valAcc())) {
            if (bestModel != null && bestModel != model) bestModel.close();
            best = r;
            bestModel = model;
        } else if (model != null && model != bestModel) {
            model.close();
        }
        if (verbose) {
            out.printf(Locale.ROOT, "trial %d/%d: %s -> %s%n", position, of, describe(p),
                    error != null ? "FAILED: " + error
                            : String.format(Locale.ROOT, "val acc %.4f, train acc %.4f, %.1f s%s", r.valAcc(), r.trainAcc(),
                                    seconds, r == best ? " (best so far)" : ""));
        }
    }

    private String describe(Map<String, Double> p) {
        StringBuilder sb = new StringBuilder();
        for (var e : p.entrySet()) {
            if (!sb.isEmpty()) sb.append(", ");
            sb.append(e.getKey()).append('=').append(format(e.getKey(), e.getValue()));
        }
        return sb.toString();
    }

    private String format(String name, double v) {
        Space s = spaces.get(name);
        boolean integral = v == Math.rint(v) && Math.abs(v) < 1e9
                && (s == null || s.integer() || (s.discrete() && allIntegral(s.values())));
        if (integral) return Long.toString((long) v);
        double a = Math.abs(v);
        return a != 0 && (a < 1e-2 || a >= 1e4) ? String.format(Locale.ROOT, "%.3e", v) : String.format(Locale.ROOT, "%.4f", v);
    }

    private static boolean allIntegral(double[] values) {
        for (double v : values) if (v != Math.rint(v)) return false;
        return true;
    }

    // ------------------------------------------------------------------ results

    /** Every result so far, best validation accuracy first (failed trials last). */
    public List<Result> results() {
        List<Result> r = new ArrayList<>(results);
        r.sort(Comparator.comparingDouble((Result x) -> Double.isNaN(x.valAcc()) ? Double.NEGATIVE_INFINITY : x.valAcc())
                .reversed().thenComparingInt(Result::trial));
        return Collections.unmodifiableList(r);
    }

    /** The best result, or null when no trial succeeded. */
    public Result best() { return best; }

    /** The best trial's model, or null; the caller closes it. */
    public Model bestModel() { return bestModel; }

    /**
     * Saves the best model's parameters with {@link ModelIO}, its hyperparameters and accuracy
     * in the metadata.
     *
     * @param file the safetensors file to write
     */
    public void saveBest(Path file) throws IOException {
        if (bestModel == null) throw new IllegalStateException("no successful trial with a model to save");
        Map<String, String> meta = new LinkedHashMap<>();
        best.params().forEach((k, v) -> meta.put("hparam." + k, Double.toString(v)));
        meta.put("val_acc", Double.toString(best.valAcc()));
        ModelIO.save(bestModel, file, meta);
    }

    /** The results as CSV (best first): trial, each hyperparameter, val_acc, train_acc, seconds, error. */
    public String csv() {
        StringBuilder sb = new StringBuilder("trial");
        for (String n : spaces.keySet()) sb.append(',').append(n);
        sb.append(",val_acc,train_acc,seconds,error\n");
        for (Result r : results()) {
            sb.append(r.trial());
            for (String n : spaces.keySet()) {
                Double v = r.params().get(n);
                sb.append(',').append(v == null ? "" : csvNumber(n, v));
            }
            sb.append(',').append(r.valAcc()).append(',').append(r.trainAcc()).append(',')
                    .append(String.format(Locale.ROOT, "%.3f", r.seconds())).append(',');
            if (r.error() != null) sb.append('"').append(r.error().replace("\"", "\"\"").replace('\n', ' ')).append('"');
            sb.append('\n');
        }
        return sb.toString();
    }

    private String csvNumber(String name, double v) {
        String f = format(name, v);
        return f.indexOf('.') < 0 && f.indexOf('e') < 0 ? f : Double.toString(v);
    }

    /** Writes {@link #csv()} to a file, atomically. */
    public void writeCsv(Path file) throws IOException {
        AtomicFiles.writeString(file, csv());
    }

    /** The results as an aligned text table, best first. */
    public String table() {
        List<String> names = new ArrayList<>(spaces.keySet());
        List<String[]> rows = new ArrayList<>();
        List<String> head = new ArrayList<>(List.of("trial"));
        head.addAll(names);
        head.addAll(List.of("val_acc", "train_acc", "seconds"));
        rows.add(head.toArray(String[]::new));
        for (Result r : results()) {
            List<String> row = new ArrayList<>();
            row.add(Integer.toString(r.trial()));
            for (String n : names) row.add(r.params().containsKey(n) ? format(n, r.params().get(n)) : "");
            row.add(r.error() != null ? "failed" : String.format(Locale.ROOT, "%.4f", r.valAcc()));
            row.add(Double.isNaN(r.trainAcc()) ? "-" : String.format(Locale.ROOT, "%.4f", r.trainAcc()));
            row.add(String.format(Locale.ROOT, "%.1f", r.seconds()));
            rows.add(row.toArray(String[]::new));
        }
        int[] w = new int[head.size()];
        for (String[] row : rows) for (int i = 0; i < row.length; i++) w[i] = Math.max(w[i], row[i].length());
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < rows.size(); k++) {
            String[] row = rows.get(k);
            for (int i = 0; i < row.length; i++) {
                if (i > 0) sb.append("  ");
                sb.append(" ".repeat(w[i] - row[i].length())).append(row[i]);
            }
            sb.append('\n');
            if (k == 0) {
                int total = 0;
                for (int x : w) total += x;
                sb.append("-".repeat(total + 2 * (w.length - 1))).append('\n');
            }
        }
        return sb.toString();
    }

    /** Prints {@link #table()}. */
    public void printTable(PrintStream stream) {
        stream.print(table());
        stream.flush();
    }
}
