package dev.panamann.examples;

import dev.panamann.cli.CifarDataOptions;
import dev.panamann.cli.Cli;
import dev.panamann.cli.CommonOptions;
import dev.panamann.cli.Inputs;
import dev.panamann.cli.ModelRegistry;
import dev.panamann.cli.ModelSpec;
import dev.panamann.cli.TrainRun;
import dev.panamann.cli.UserError;
import dev.panamann.data.PreparedData;
import dev.panamann.models.DataParallel;
import dev.panamann.models.Model;
import dev.panamann.models.TwoLayerNet;
import dev.panamann.ops.Ops;
import dev.panamann.train.Evaluation;
import dev.panamann.train.HyperparameterSearch;
import dev.panamann.train.TrainResult;
import dev.panamann.train.TrainSettings;
import dev.panamann.train.Training;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The cs231n two-layer net on CIFAR-10, as in the assignment: a sanity check of the initial
 * loss, a small grid search around hidden 300, learning rate 1.6e-3, reg 1e-2 (SGD, batch 400,
 * learning rate x 0.9 per epoch), then the best setting trained for a longer schedule (25
 * epochs, about 3000 iterations), its test accuracy, loss and accuracy plots and the W1 weights
 * seen as images.
 *
 * <pre>
 *   java --enable-native-access=ALL-UNNAMED -cp samples/target/panama-nn-samples.jar \
 *       dev.panamann.examples.TwoLayerNetCifar [--search-epochs N] [--epochs N] [--num-train N] [--data PATH]
 * </pre>
 */
@Command(name = "TwoLayerNetCifar", mixinStandardHelpOptions = true, sortOptions = false,
        description = "cs231n two-layer net on CIFAR-10: grid search, final training, test accuracy, plots and the W1 weight grid.")
public final class TwoLayerNetCifar implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    CifarDataOptions cifar;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: runs/TwoLayerNetCifar-<timestamp>).")
    Path out;

    @Option(names = "--hidden", paramLabel = "H", split = ",", defaultValue = "300", description = "Grid: hidden sizes (default: ${DEFAULT-VALUE}).")
    double[] hidden;

    @Option(names = "--lr", paramLabel = "LR", split = ",", defaultValue = "1.2e-3,1.6e-3,2e-3",
            description = "Grid: learning rates (default: ${DEFAULT-VALUE}).")
    double[] lrs;

    @Option(names = "--reg", paramLabel = "R", split = ",", defaultValue = "5e-3,1e-2", description = "Grid: L2 strengths (default: ${DEFAULT-VALUE}).")
    double[] regs;

    @Option(names = "--search-epochs", paramLabel = "N", defaultValue = "2", description = "Epochs of each grid trial (default: ${DEFAULT-VALUE}).")
    int searchEpochs;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "25", description = "Epochs of the final training (default: ${DEFAULT-VALUE}, about 3000 iterations).")
    int epochs;


    public static void main(String[] args) {
        System.exit(Cli.runSample(new TwoLayerNetCifar(), args));
    }

    @Override
    public Integer call() throws Exception {
        Steps.section(System.out, "1. Data: CIFAR-10, cs231n split, mean image subtracted");
        try (Ops ops = common.ops("native");
             PreparedData d = cifar.load(System.out)) {
            Path dir = Inputs.outDir(out, "TwoLayerNetCifar");
            ModelSpec base = ModelSpec.defaults("twolayer", d.exampleShape(), d.numClasses(), common.seed);
            TrainSettings schedule = ModelRegistry.get("twolayer").training(); // SGD, batch 400, lr x 0.9 per epoch

            Steps.section(System.out, "2. Sanity check: with tiny weights and no regularization the loss is about ln(10) = 2.303");
            try (TwoLayerNet net = new TwoLayerNet(ops, base.inputDim(), 300, d.numClasses(), 1e-4f, 0f, common.seed)) {
                var x = d.train().x().slice(0, 100);
                int[] y = Arrays.copyOf(d.train().y(), 100);
                System.out.printf(Locale.ROOT, "initial loss %.4f on 100 training images (expected ~%.4f)%n", net.loss(x, y), Math.log(10));
            }

            Steps.section(System.out, "3. Grid search: " + searchEpochs + " epochs per setting, " + schedule.describe().replaceFirst(", lr [^,]*,", ",")
                    .replaceFirst(", \\d+ epochs", ""));
            HyperparameterSearch search = new HyperparameterSearch()
                    .values("hidden", hidden)
                    .values("lr", lrs)
                    .values("reg", regs);
            search.gridSearch(trial -> {
                ModelSpec spec = base.withHidden(trial.getInt("hidden")).withReg((float) trial.get("reg"));
                TrainSettings s = schedule.withLearningRate(trial.get("lr")).withEpochs(searchEpochs);
                return Training.trial(() -> spec.build(ops), d, s, common.seed);
            });
            search.printTable(System.out);
            search.writeCsv(dir.resolve("search.csv"));
            HyperparameterSearch.Result best = search.best();
            if (best == null) throw new UserError("every grid setting failed; see the errors above");
            search.bestModel().close(); // retrained from scratch below

            ModelSpec spec = base.withHidden((int) Math.round(best.params().get("hidden"))).withReg(best.params().get("reg").floatValue());
            TrainSettings settings = schedule.withLearningRate(best.params().get("lr")).withEpochs(epochs);
            Steps.section(System.out, "4. Train the best setting for the full schedule");
            TrainRun run = new TrainRun(dir, ops, d, spec, settings, common.seed, cifar.data);
            run.describe();
            try (Model net = DataParallel.of(ops, spec::build)) { // with 2+ threads: one-thread replicas, each a slice of the batch
                TrainResult r = run.train(net, 100, false, null);

                Steps.section(System.out, "5. Test accuracy; loss.png, accuracy.png, and weights.png: W1 (3072, H) as H images of 3x32x32");
                TrainRun.Summary s = run.finish(net, r, true);
                System.out.print(Evaluation.perClass(s.testPred(), d.test().y(), d.classNames().size()).table(d.classNames()));
            }
        }
        return Cli.EXIT_OK;
    }
}
