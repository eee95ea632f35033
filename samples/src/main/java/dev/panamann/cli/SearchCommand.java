package dev.panamann.cli;

import dev.panamann.data.PreparedData;
import dev.panamann.models.Model;
import dev.panamann.ops.Ops;
import dev.panamann.train.Evaluation;
import dev.panamann.train.HyperparameterSearch;
import dev.panamann.train.TrainSettings;
import dev.panamann.train.Training;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code panama-nn search}: grid or random search over learning rate, regularization and hidden
 * size of a TwoLayerNet (or FullyConnectedNet) on CIFAR-10.
 */
@Command(name = "search", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Hyperparameter search (grid, or random with log-uniform ranges) for twolayer or fc on CIFAR-10.",
                "Each of --lr, --reg, --hidden takes a list a,b,c (grid axis / uniform choice) or a range lo:hi "
                        + "(log-uniform in random search; --grid-points log-spaced values in grid search).",
                "Writes into --out: search.csv (sorted by val acc), the best model (model.safetensors, model.json, "
                        + "mean_image.safetensors) for evaluate / predict."})
public final class SearchCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    LossOption lossOption;

    @Mixin
    ModelOption modelOption;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "random", description = "random or grid (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--trials", paramLabel = "N", defaultValue = "10", description = "Random search: number of trials (default: ${DEFAULT-VALUE}).")
    int trials;

    @Option(names = "--lr", paramLabel = "SPEC", defaultValue = "5e-4:5e-3", description = "Learning rates (default: ${DEFAULT-VALUE}).")
    String lr;

    @Option(names = "--reg", paramLabel = "SPEC", defaultValue = "1e-3:1e-1", description = "L2 strengths (default: ${DEFAULT-VALUE}).")
    String reg;

    @Option(names = "--hidden", paramLabel = "SPEC", defaultValue = "100,200,300",
            description = "Hidden sizes; fc uses the size for each of --hidden-layers layers (default: ${DEFAULT-VALUE}).")
    String hidden;

    @Option(names = "--grid-points", paramLabel = "K", defaultValue = "3", description = "Grid search: values per range (default: ${DEFAULT-VALUE}).")
    int gridPoints;

    @Option(names = "--hidden-layers", paramLabel = "L", defaultValue = "2", description = "fc: number of hidden layers (default: ${DEFAULT-VALUE}).")
    int hiddenLayers;

    @Mixin
    ArchitectureOptions architecture;

    @Mixin
    ScheduleOptions schedule;

    @Mixin
    BatchSizeOption batchSizeOption;

    @Mixin
    SplitOptions split;

    @Mixin
    DataOptions dataOptions;

    @Mixin
    OutOption outOption;

    @Override
    public Integer call() throws Exception {
        String type = modelOption.type("twolayer", List.of("twolayer", "fc"));
        String m = mode.toLowerCase(Locale.ROOT);
        if (!m.equals("random") && !m.equals("grid")) throw new UserError("--mode takes random or grid, got '" + mode + "'");
        if (trials < 1) throw new UserError("--trials must be >= 1, got " + trials);
        lossOption.check();
        if (gridPoints < 1) throw new UserError("--grid-points must be >= 1, got " + gridPoints);
        if (hiddenLayers < 1) throw new UserError("--hidden-layers must be >= 1, got " + hiddenLayers);
        int batchSize = batchSizeOption.orElse(200);
        TrainSettings base = schedule.apply(new TrainSettings("sgd", 1e-3, 0.95, batchSize, 5));

        HyperparameterSearch search = new HyperparameterSearch();
        space(search, "lr", lr, m, false);
        space(search, "reg", reg, m, false);
        space(search, "hidden", hidden, m, true);

        try (Ops ops = common.ops("auto");
             PreparedData d = dataOptions.load("cifar10", split, 10000, System.out)) {
            Path dir = outOption.dir("search-" + type);
            ModelSpec baseSpec = lossOption.apply(architecture.apply(ModelSpec.defaults(type, d.exampleShape(), d.numClasses(), common.seed)));
            boolean batchNorm = baseSpec.batchNorm();
            System.out.printf(Locale.ROOT, "%s search over lr %s, reg %s, hidden %s: %s, %s on %s%n", m, lr, reg, hidden,
                    type.equals("fc") ? hiddenLayers + " hidden layers" + (batchNorm ? " with batch norm" : "") : "twolayer",
                    base.describe().replaceFirst(", lr [^,]*,", ","), ops.name());
            System.out.println("writing to " + dir);
            HyperparameterSearch.TrialRunner runner = trial -> {
                ModelSpec spec = specFor(baseSpec, trial);
                TrainSettings s = base.withLearningRate(trial.get("lr"));
                return Training.trial(() -> spec.build(ops), d, s, common.seed + trial.index());
            };
            if (m.equals("grid")) search.gridSearch(runner);
            else search.randomSearch(trials, common.seed, runner);

            System.out.println();
            search.printTable(System.out);
            Path csv = dir.resolve("search.csv");
            search.writeCsv(csv);
            HyperparameterSearch.Result best = search.best();
            if (best == null) throw new UserError("every trial failed; see the errors above and in " + csv);
            try (Model bestModel = search.bestModel()) {
                ModelSpec spec = specFor(baseSpec, new HyperparameterSearch.Trial(best.trial(), best.params()));
                double testAcc = Evaluation.accuracy(bestModel, d.test(), batchSize);
                Map<String, Object> results = new LinkedHashMap<>();
                results.put("val_acc", best.valAcc());
                results.put("test_acc", testAcc);
                results.put("search_trial", best.trial());
                Map<String, Object> dataInfo = new LinkedHashMap<>();
                dataInfo.put("path", dataOptions.path("cifar10").toString());
                dataInfo.put("num_train", d.train().size());
                dataInfo.put("num_val", d.val().size());
                dataInfo.put("num_test", d.test().size());
                SavedRun.save(dir, bestModel, d.meanImage(), SavedRun.Descriptor.of(spec, d,
                        base.withLearningRate(best.params().get("lr")), dataInfo, results));
                System.out.printf(Locale.ROOT, "best: trial %d (%s), val acc %.4f, test acc %.4f%n", best.trial(), spec.describe(),
                        best.valAcc(), testAcc);
                System.out.println("wrote " + csv + " and the best model to " + dir);
            }
        }
        return Cli.EXIT_OK;
    }

    private ModelSpec specFor(ModelSpec base, HyperparameterSearch.Trial t) {
        int h = t.getInt("hidden");
        int[] dims = new int[type().equals("fc") ? hiddenLayers : 1];
        Arrays.fill(dims, h);
        return base.withHidden(dims).withReg((float) t.get("reg"));
    }

    private String type() { return modelOption.type("twolayer", List.of("twolayer", "fc")); }

    /** Adds "a,b,c" (values) or "lo:hi" (a log-uniform range, or grid points) to the search. */
    private void space(HyperparameterSearch s, String name, String spec, String m, boolean integer) {
        String v = spec.trim();
        try {
            if (v.contains(":")) {
                String[] p = v.split(":");
                if (p.length != 2) throw new NumberFormatException();
                double lo = Double.parseDouble(p[0].trim()), hi = Double.parseDouble(p[1].trim());
                if (!(lo > 0) || !(hi >= lo)) throw new UserError("--" + name + " range " + v + " needs 0 < lo <= hi");
                if (m.equals("grid")) {
                    double[] pts = new double[gridPoints];
                    for (int i = 0; i < gridPoints; i++) {
                        double f = gridPoints == 1 ? 0.5 : (double) i / (gridPoints - 1);
                        pts[i] = Math.exp(Math.log(lo) + f * (Math.log(hi) - Math.log(lo)));
                        if (integer) pts[i] = Math.round(pts[i]);
                    }
                    s.values(name, Arrays.stream(pts).distinct().toArray());
                } else if (integer) {
                    s.logUniformInt(name, (int) Math.round(lo), (int) Math.round(hi));
                } else {
                    s.logUniform(name, lo, hi);
                }
            } else {
                String[] p = v.split(",");
                double[] vals = new double[p.length];
                for (int i = 0; i < p.length; i++) {
                    vals[i] = Double.parseDouble(p[i].trim());
                    if (!(vals[i] >= 0) || (integer && (vals[i] < 1 || vals[i] != Math.rint(vals[i])))) {
                        throw new UserError("--" + name + " value " + p[i].trim() + " is out of range");
                    }
                }
                s.values(name, vals);
            }
        } catch (NumberFormatException e) {
            throw new UserError("--" + name + " takes a list a,b,c or a range lo:hi, got '" + spec + "'");
        }
    }
}
