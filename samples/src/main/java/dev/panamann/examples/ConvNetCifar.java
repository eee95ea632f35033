package dev.panamann.examples;

import dev.panamann.cli.CifarDataOptions;
import dev.panamann.cli.Cli;
import dev.panamann.cli.CommonOptions;
import dev.panamann.cli.Inputs;
import dev.panamann.cli.ModelRegistry;
import dev.panamann.cli.ModelSpec;
import dev.panamann.cli.TrainRun;
import dev.panamann.data.PreparedData;
import dev.panamann.models.DataParallel;
import dev.panamann.models.Model;
import dev.panamann.ops.Ops;
import dev.panamann.train.Evaluation;
import dev.panamann.train.TrainResult;
import dev.panamann.train.TrainSettings;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The cs231n three-layer conv net on CIFAR-10, trained with the Solver and Adam: the same run as
 * {@code panama-nn train} with its defaults, plus plots and the per-class accuracy.
 *
 * <pre>
 *   java --enable-native-access=ALL-UNNAMED -cp samples/target/panama-nn-samples.jar \
 *       dev.panamann.examples.ConvNetCifar [--epochs N] [--hidden H] [--[no-]flip] [--num-train N] [--data PATH] [--out DIR]
 * </pre>
 */
@Command(name = "ConvNetCifar", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train conv7x7(32) - relu - maxpool - affine(500) - relu - affine(10) on CIFAR-10 with Adam and flips; plots and per-class accuracy.")
public final class ConvNetCifar implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    CifarDataOptions cifar;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: runs/ConvNetCifar-<timestamp>).")
    Path out;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs (default: the train command's, 15).")
    Integer epochs;

    @Option(names = "--hidden", paramLabel = "H", description = "Units of the hidden affine layer (default: the train command's, 500; cs231n: 100).")
    Integer hidden;

    @Option(names = "--flip", negatable = true, description = "Random horizontal flips of the training images (default: the train command's, on).")
    Boolean flip;


    public static void main(String[] args) {
        System.exit(Cli.runSample(new ConvNetCifar(), args));
    }

    @Override
    public Integer call() throws Exception {
        Steps.section(System.out, "1. Data: CIFAR-10, cs231n split (train / 1000 val / 10000 test), mean image subtracted");
        try (Ops ops = common.ops("native");
             PreparedData d = cifar.load(System.out)) {

            Steps.section(System.out, "2. Model and schedule: the defaults of `panama-nn train`");
            ModelSpec spec = ModelSpec.defaults("convnet", d.exampleShape(), d.numClasses(), common.seed);
            if (hidden != null) spec = spec.withHidden(hidden);
            TrainSettings settings = ModelRegistry.get("convnet").training();
            if (epochs != null) settings = settings.withEpochs(epochs);
            if (flip != null) settings = settings.withFlip(flip);
            TrainRun run = new TrainRun(Inputs.outDir(out, "ConvNetCifar"), ops, d, spec, settings, common.seed, cifar.data);
            run.describe();

            try (Model net = DataParallel.of(ops, spec::build)) { // with 2+ threads: one-thread replicas, each a slice of the batch
                System.out.println(net);
                Steps.section(System.out, "3. Train with the Solver (best validation parameters kept)");
                TrainResult r = run.train(net, 100, false, null);

                Steps.section(System.out, "4. Accuracy; plots of the loss, the accuracies and the 32 first-layer filters");
                TrainRun.Summary s = run.finish(net, r, true);

                Steps.section(System.out, "5. Test accuracy per class");
                System.out.print(Evaluation.perClass(s.testPred(), d.test().y(), d.classNames().size()).table(d.classNames()));
            }
        }
        return Cli.EXIT_OK;
    }
}
