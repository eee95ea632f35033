package dev.panamann.cli;

import dev.panamann.examples.PcaCifar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.data.Cifar10;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Runs the panama-nn command line in this JVM on a tiny synthetic CIFAR-10 archive. */
class CliTest {
    static Path work;
    static Path cifar;
    /**
     * The backend of the runs that say auto: auto falls back to Java without native libraries,
     * so with {@code -Dpanamann.requireNative=true} (CI) they ask for native and fail without it.
     */
    static final String AUTO = Boolean.getBoolean("panamann.requireNative") ? "native" : "auto";

    /** Exit code and everything printed by one run of the command line. */
    record Run(int code, String out, String err) {}

    @BeforeAll
    static void writeData() throws IOException {
        work = Path.of(System.getProperty("panamann.workDir", "target/test-work"), "cli");
        deleteTree(work);
        Files.createDirectories(work);
        cifar = writeCifar(work.resolve(Cifar10.ARCHIVE_NAME), 1250, 100);
    }

    /**
     * A CIFAR-10 archive with only data_batch_1.bin ({@code train} random records), test_batch.bin
     * ({@code test} records) and the class names: enough for limits within the first batch.
     */
    static Path writeCifar(Path file, int train, int test) throws IOException {
        Random r = new Random(7);
        try (OutputStream fo = Files.newOutputStream(file);
             GzipCompressorOutputStream gz = new GzipCompressorOutputStream(fo);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(gz)) {
            put(tar, Cifar10.META_NAME, (String.join("\n", Cifar10.CLASS_NAMES) + "\n").getBytes(StandardCharsets.UTF_8));
            put(tar, Cifar10.TRAIN_FILES.get(0), records(r, train));
            put(tar, Cifar10.TEST_FILE, records(r, test));
        }
        return file;
    }

    private static byte[] records(Random r, int n) {
        byte[] b = new byte[n * Cifar10.RECORD_BYTES];
        r.nextBytes(b);
        for (int i = 0; i < n; i++) b[i * Cifar10.RECORD_BYTES] = (byte) r.nextInt(10);
        return b;
    }

    private static void put(TarArchiveOutputStream tar, String name, byte[] data) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(Cifar10.FOLDER_NAME + "/" + name);
        e.setSize(data.length);
        tar.putArchiveEntry(e);
        tar.write(data);
        tar.closeArchiveEntry();
    }

    /** Runs the command line, capturing System.out and the error stream. */
    static Run run(String... args) {
        return run(Cli.commandLine(), args);
    }

    /** Runs a command (the command line, or a sample set up by {@link Cli#configure}), capturing its output. */
    static Run run(CommandLine cl, String... args) {
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int code;
        try (PrintStream capture = new PrintStream(out, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            code = cl.execute(args);
        } finally {
            System.setOut(old);
        }
        Run r = new Run(code, out.toString(StandardCharsets.UTF_8), err.toString());
        System.out.println("$ " + cl.getCommandName() + " " + String.join(" ", args) + "\n" + r.out() + r.err() + "-> exit " + code);
        return r;
    }

    @Test
    void gradcheckTwoLayerPassesAndAnImpossibleToleranceFails() {
        Run ok = run("gradcheck", "--model", "twolayer");
        assertEquals(Cli.EXIT_OK, ok.code(), ok.err());
        for (String p : List.of("layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias")) assertTrue(ok.out().contains(p), "no line for " + p + ":\n" + ok.out());
        assertTrue(ok.out().strip().endsWith("PASS"), ok.out());

        Run fail = run("gradcheck", "--model", "twolayer", "--tolerance", "1e-12");
        assertEquals(Cli.EXIT_FAIL, fail.code());
        assertTrue(fail.out().strip().endsWith("FAIL"), fail.out());
    }

    @Test
    void trainWritesTheRunFolderThatEvaluateAndPredictRead() throws IOException {
        Path out = work.resolve("run-twolayer");
        Run train = run("train", "--model", "twolayer", "--num-train", "200", "--epochs", "1", "--backend", AUTO, "--data",
                cifar.toString(), "--out", out.toString(), "--plots", "--checkpoint");
        assertEquals(Cli.EXIT_OK, train.code(), train.err());
        for (String f : List.of(SavedRun.WEIGHTS, SavedRun.DESCRIPTOR, SavedRun.MEAN_IMAGE, "history.json", "loss.png", "accuracy.png",
                "weights.png", "checkpoint_epoch_1.safetensors")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f + " missing or empty in " + out);
        }
        assertTrue(train.out().contains("test accuracy:"), train.out());
        assertTrue(train.out().contains("correct/total") && train.out().contains("airplane") && train.out().contains("truck"),
                "train prints the per-class table: " + train.out());
        assertTrue(train.out().contains("training images/s"), train.out());
        SavedRun.Descriptor d = SavedRun.readDescriptor(out);
        assertEquals("twolayer", d.model().type());
        assertEquals(Cifar10.CLASS_NAMES, d.classNames());
        assertEquals(200.0, ((Number) d.data().get("num_train")).doubleValue());
        assertTrue(d.results().containsKey("test_acc"), d.results().toString());

        Run eval = run("evaluate", "--model-dir", out.toString(), "--data", cifar.toString());
        assertEquals(Cli.EXIT_OK, eval.code(), eval.err());
        assertTrue(eval.out().contains("airplane") && eval.out().contains("test accuracy:"), eval.out());
        // the same model on the same test images: evaluate agrees with the accuracy train recorded
        double recorded = ((Number) d.results().get("test_acc")).doubleValue();
        assertTrue(eval.out().contains(String.format(java.util.Locale.ROOT, "test accuracy: %.4f", recorded)), eval.out());

        Path png = work.resolve("image.png");
        BufferedImage img = new BufferedImage(40, 24, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 24; y++) for (int x = 0; x < 40; x++) img.setRGB(x, y, (x * 6) << 16 | (y * 10) << 8 | 90);
        ImageIO.write(img, "png", png.toFile());
        Run predict = run("predict", "--model-dir", out.toString(), png.toString());
        assertEquals(Cli.EXIT_OK, predict.code(), predict.err());
        for (String c : Cifar10.CLASS_NAMES) assertTrue(predict.out().contains(c), "no probability for " + c + ":\n" + predict.out());
    }

    @Test
    void hingeLossTrainsIsRecordedAndChecksGradients() throws IOException {
        Path out = work.resolve("run-hinge");
        Run train = run("train", "--model", "twolayer", "--loss", "hinge", "--num-train", "200", "--epochs", "1", "--backend", "auto",
                "--data", cifar.toString(), "--out", out.toString());
        assertEquals(Cli.EXIT_OK, train.code(), train.err());
        assertTrue(train.out().contains("hinge loss"), "the model line names the loss:\n" + train.out());
        SavedRun.Descriptor d = SavedRun.readDescriptor(out);
        assertEquals("hinge", d.model().loss());
        Run eval = run("evaluate", "--model-dir", out.toString(), "--data", cifar.toString());
        assertEquals(Cli.EXIT_OK, eval.code(), eval.err());

        // a model.json written before the loss was recorded reads as softmax
        Path json = out.resolve(SavedRun.DESCRIPTOR);
        String text = Files.readString(json);
        String old = text.replaceAll(",\\s*\"loss\":\\s*\"hinge\"", "");
        assertFalse(old.contains("\"loss\""), old);
        Files.writeString(json, old);
        assertEquals(ModelSpec.DEFAULT_LOSS, SavedRun.readDescriptor(out).model().loss());

        Run grad = run("gradcheck", "--model", "fc", "--loss", "hinge");
        assertEquals(Cli.EXIT_OK, grad.code(), grad.out() + grad.err());
        assertTrue(grad.out().contains("hinge loss") && grad.out().strip().endsWith("PASS"), grad.out());

        Run bad = run("train", "--model", "twolayer", "--loss", "l1", "--data", cifar.toString(), "--out", work.resolve("never-l1").toString());
        assertEquals(Cli.EXIT_USAGE, bad.code());
        assertTrue(bad.err().contains("'l1'") && bad.err().contains("softmax, hinge"), bad.err());
    }

    @Test
    void pcaSampleWhitensToTheIdentityAndTrainsOnTheProjection() throws IOException {
        Path out = work.resolve("pca");
        Run r = run(Cli.configure(new CommandLine(new PcaCifar())), "--data", cifar.toString(), "--num-train", "200", "--k", "20",
                "--whiten-k", "10,50", "--epochs", "1", "--backend", AUTO, "--out", out.toString());
        assertEquals(Cli.EXIT_OK, r.code(), r.err());
        String text = r.out();
        assertTrue(Files.size(out.resolve("components.png")) > 0, "components.png missing");
        assertTrue(Files.size(out.resolve("history.json")) > 0, "history.json missing");
        BufferedImage grid = ImageIO.read(out.resolve("components.png").toFile());
        assertEquals((7 * 32 + 6) * 2, grid.getWidth(), "49 components of 32x32 in a 7x7 grid, padding 1, scale 2");
        // 200 random images: all 50 kept variances are far above round-off, so whitening is exact to float32 noise
        for (String k : List.of("10", "50")) {
            String row = text.lines().filter(l -> l.trim().startsWith(k + " ") && l.contains("e-")).findFirst()
                    .orElseThrow(() -> new AssertionError("no whitening row for k = " + k + ":\n" + text));
            String[] cols = row.trim().split("\\s+");
            assertTrue(Double.parseDouble(cols[1]) > 1, "the last kept variance of random pixels is far above round-off: " + row);
            assertTrue(Double.parseDouble(cols[2]) < 1e-3, "max |C_ii - 1| for k = " + k + ": " + row);
            assertTrue(Double.parseDouble(cols[3]) < 1e-3, "max |C_ij| for k = " + k + ": " + row);
        }
        assertTrue(text.contains("test accuracy") && text.contains("20 PCA coordinates"), text);
    }

    /** The training recipe options reach the solver and model.json; a run recorded without them reads as the classic one. */
    @Test
    void recipeOptionsTrainAndAreRecorded() throws IOException {
        Path out = work.resolve("run-recipe");
        Run train = run("train", "--model", "convnet", "--hidden", "20", "--filters", "4", "--num-train", "200", "--epochs", "2",
                "--batch-size", "50", "--backend", AUTO, "--data", cifar.toString(), "--out", out.toString(), "--augment", "crop,flip",
                "--optimizer", "adamw", "--weight-decay", "0.05", "--schedule", "onecycle", "--warmup-epochs", "0.5",
                "--label-smoothing", "0.1");
        assertEquals(Cli.EXIT_OK, train.code(), train.err());
        for (String part : List.of("adamw (weight decay 0.05)", "one-cycle per step, rising 0.5 epochs", "augmentation crop(pad=4),flip",
                "label smoothing 0.1")) {
            assertTrue(train.out().contains(part), "the solver line lacks '" + part + "':\n" + train.out());
        }
        SavedRun.Descriptor d = SavedRun.readDescriptor(out);
        assertEquals("crop,flip", d.training().augment());
        assertEquals("onecycle", d.training().schedule());
        assertEquals(0.05, d.training().weightDecay());
        assertEquals(0.1, d.training().labelSmoothing());

        // a model.json written before the recipe options existed reads as the classic settings
        Path json = out.resolve(SavedRun.DESCRIPTOR);
        String old = Files.readString(json).replaceAll(",\\s*\"(augment|schedule|warmup_epochs|weight_decay|label_smoothing)\":\\s*(\"[^\"]*\"|[^,}\\s]+)", "");
        assertFalse(old.contains("\"schedule\""), old);
        Files.writeString(json, old);
        dev.panamann.train.TrainSettings classic = SavedRun.readDescriptor(out).training();
        assertEquals(null, classic.augment());
        assertEquals(0.0, classic.labelSmoothing());
        assertEquals(dev.panamann.optim.LrSchedule.exponential(classic.lrDecay()), classic.lrSchedule());

        String[][] bad = {
                {"--augment", "rotate"}, {"--augment", "crop", "--flip"}, {"--optimizer", "adagrad"},
                {"--optimizer", "adam", "--weight-decay", "0.01"}, {"--optimizer", "adamw", "--weight-decay", "1.5"},
                {"--schedule", "linear"}, {"--warmup-epochs", "1"}, {"--schedule", "cosine", "--warmup-epochs", "-1"},
                {"--schedule", "onecycle", "--warmup-epochs", "20", "--epochs", "2"}, {"--schedule", "cosine", "--lr-decay", "0.9"},
                {"--label-smoothing", "1"}, {"--loss", "hinge", "--label-smoothing", "0.1", "--num-train", "100", "--epochs", "1"}};
        String[] names = {"'rotate'", "--flip", "'adagrad'", "--weight-decay", "--weight-decay", "'linear'", "--warmup-epochs",
                "--warmup-epochs", "--warmup-epochs", "--lr-decay", "--label-smoothing", "--label-smoothing"};
        for (int i = 0; i < bad.length; i++) {
            List<String> args = new java.util.ArrayList<>(List.of("train", "--model", "twolayer", "--data", cifar.toString(), "--out",
                    work.resolve("never-recipe").toString()));
            args.addAll(List.of(bad[i]));
            Run r = run(args.toArray(String[]::new));
            assertEquals(Cli.EXIT_USAGE, r.code(), String.join(" ", bad[i]) + ":\n" + r.err());
            assertTrue(r.err().contains(names[i]), String.join(" ", bad[i]) + ": the message does not name " + names[i] + ":\n" + r.err());
        }
    }

    /** vgg-small trains with the resnet-small recipe, records its spec, and evaluate rebuilds it from model.json. */
    @Test
    void vggSmallTrainsWithTheRecipeAndEvaluates() throws IOException {
        Path out = work.resolve("run-vgg");
        Run train = run("train", "--model", "vgg-small", "--filters", "2", "--num-train", "100", "--num-val", "20", "--epochs", "1",
                "--batch-size", "25", "--backend", AUTO, "--data", cifar.toString(), "--out", out.toString());
        assertEquals(Cli.EXIT_OK, train.code(), train.err());
        for (String part : List.of("vgg-small", "VGG-style, width 2", "sgd_nesterov", "one-cycle", "crop(pad=4),flip", "label smoothing 0.1")) {
            assertTrue(train.out().contains(part), "the run does not say '" + part + "':\n" + train.out());
        }
        SavedRun.Descriptor d = SavedRun.readDescriptor(out);
        assertEquals("vgg-small", d.model().type());
        assertEquals(2, d.model().numFilters());
        assertEquals("onecycle", d.training().schedule());
        assertEquals(0.1, d.training().labelSmoothing());
        Run eval = run("evaluate", "--model-dir", out.toString(), "--data", cifar.toString());
        assertEquals(Cli.EXIT_OK, eval.code(), eval.err());
        double recorded = ((Number) d.results().get("test_acc")).doubleValue();
        assertTrue(eval.out().contains(String.format(java.util.Locale.ROOT, "test accuracy: %.4f", recorded)), eval.out());

        Run odd = run("train", "--model", "vgg-small", "--filters", "0", "--num-train", "100", "--data", cifar.toString(), "--out", work.resolve("never-vgg").toString());
        assertEquals(Cli.EXIT_USAGE, odd.code(), odd.err());
        assertTrue(odd.err().contains("vgg-small"), odd.err());
    }

    @Test
    void missingDataIsAUsageErrorNamingThePath() {
        Path missing = work.resolve("no-such-dir").resolve("cifar-10-binary.tar.gz");
        Run r = run("train", "--model", "twolayer", "--epochs", "1", "--data", missing.toString(), "--out", work.resolve("never").toString());
        assertEquals(Cli.EXIT_USAGE, r.code());
        assertTrue(r.err().contains(missing.toString()), r.err());
        assertTrue(r.err().contains("--data"), r.err());
        assertFalse(r.err().contains("\tat "), "a user error must not print a stack trace:\n" + r.err());
        assertFalse(Files.exists(work.resolve("never")), "a run that cannot start must not create its --out folder");
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertEquals(Cli.EXIT_USAGE, run("train", "--modle", "convnet").code());
        assertEquals(Cli.EXIT_USAGE, run("train", "--model", "nope", "--data", cifar.toString()).code());
        assertEquals(Cli.EXIT_USAGE, run("evaluate", "--model-dir", work.resolve("nothing-here").toString()).code());
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) Files.delete(p);
        }
    }

    /** A damaged model.json is a usage error (exit 2) naming the file, in one line, never a stack trace. */
    @Test
    void damagedModelDescriptorIsAUsageErrorNamingTheFile() throws IOException {
        Path out = work.resolve("run-damaged");
        Run train = run("train", "--model", "twolayer", "--num-train", "100", "--num-val", "50", "--epochs", "1", "--data",
                cifar.toString(), "--out", out.toString());
        assertEquals(Cli.EXIT_OK, train.code(), train.err());
        Path json = out.resolve(SavedRun.DESCRIPTOR);
        String good = Files.readString(json);
        String[][] edits = {{"\"twolayer\"", "\"bogus\"", "unknown model 'bogus'"},
                {"\"mean_image\"", "\"median_image\"", "unknown preprocess 'median_image'"},
                {"\"num_classes\": 10", "\"num_classes\": -3", "classes must be >= 1"}};
        for (String[] e : edits) {
            assertTrue(good.contains(e[0]), "model.json lacks " + e[0] + ":\n" + good);
            Files.writeString(json, good.replace(e[0], e[1]));
            Run eval = run("evaluate", "--model-dir", out.toString(), "--data", cifar.toString());
            assertEquals(Cli.EXIT_USAGE, eval.code(), eval.err());
            assertTrue(eval.err().contains(json.toString()) && eval.err().contains(e[2]), eval.err());
            assertFalse(eval.err().contains("\tat "), "a stack trace:\n" + eval.err());
        }
        Files.writeString(json, good);
        // a damaged image: the message names the file (ImageIO's own says only "Error reading PNG image data")
        Path png = work.resolve("damaged.png");
        BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) img.setRGB(x, y, (x * 7919 + y * 104729) & 0xFFFFFF);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(img, "png", bytes);
        Files.write(png, java.util.Arrays.copyOf(bytes.toByteArray(), bytes.size() / 2));
        Run predict = run("predict", "--model-dir", out.toString(), png.toString());
        assertEquals(Cli.EXIT_USAGE, predict.code(), predict.err());
        assertTrue(predict.err().contains(png.toString()), predict.err());
    }

    /** An unexpected error prints one line and exits 3; --debug adds the stack trace. */
    @Test
    void unexpectedErrorsPrintOneLine() {
        assertEquals("out of memory: Java heap space. Give the JVM more (-Xmx, or free RAM for off-heap tensors) or use smaller "
                + "sizes (--batch-size, --num-train, the model's sizes). Run with --debug for the stack trace.",
                Cli.unexpected(new OutOfMemoryError("Java heap space")));
        assertTrue(Cli.unexpected(new IllegalStateException("boom")).startsWith("unexpected error: java.lang.IllegalStateException: boom"));
    }

    /**
     * A run into the folder of an earlier one is refused without --overwrite; with it, a run
     * that then fails (here: it diverges) leaves no weights of the earlier model under its own
     * description.
     */
    @Test
    void aFailedRerunIntoAnOldFolderLeavesNoMismatchedWeights() throws IOException {
        Path out = work.resolve("run-rerun");
        Run first = run("train", "--model", "twolayer", "--num-train", "100", "--num-val", "50", "--epochs", "1", "--data",
                cifar.toString(), "--out", out.toString());
        assertEquals(Cli.EXIT_OK, first.code(), first.err());
        assertTrue(Files.exists(out.resolve(SavedRun.WEIGHTS)));
        String[] rerun = {"train", "--model", "twolayer", "--hidden", "40", "--lr", "1e30", "--num-train", "100", "--num-val",
                "50", "--epochs", "2", "--data", cifar.toString(), "--out", out.toString()};
        Run refused = run(rerun);
        assertEquals(Cli.EXIT_USAGE, refused.code(), refused.err());
        assertTrue(refused.err().contains("holds an earlier run") && refused.err().contains("--overwrite"), refused.err());
        assertTrue(Files.exists(out.resolve(SavedRun.WEIGHTS)), "a refused rerun leaves the earlier run as it was");
        String[] overwriting = java.util.Arrays.copyOf(rerun, rerun.length + 1);
        overwriting[rerun.length] = "--overwrite";
        Run diverged = run(overwriting);
        assertEquals(Cli.EXIT_ERROR, diverged.code(), diverged.err());
        assertTrue(diverged.err().contains("training diverged"), diverged.err());
        assertFalse(diverged.err().contains("\tat "), diverged.err());
        assertFalse(Files.exists(out.resolve(SavedRun.WEIGHTS)), "the earlier run's weights are gone");
        Run eval = run("evaluate", "--model-dir", out.toString(), "--data", cifar.toString());
        assertEquals(Cli.EXIT_USAGE, eval.code(), eval.err());
    }

    /** Sizes out of range are usage errors (exit 2, one line naming the option) before anything large is allocated. */
    @Test
    void sizesOutOfRangeAreUsageErrors() {
        String[][] cases = {
                {"--batch-size", "2147483647", "--batch-size 2147483647 is larger than the 100 training examples"},
                {"--batch-size", "0", "batch size must be >= 1"},
                {"--epochs", "-1", "epochs must be between 1 and"},
                {"--epochs", "2147483647", "epochs must be between 1 and"},
                {"--hidden", "2147483647", "parameters"},
                {"--hidden", "-5", "hidden"},
                {"--num-train", "2147483647", "--num-train 2147483647 plus --num-val 50 examples are more than any dataset holds"},
                {"--num-train", "-3", "--num-train must be >= 1"}};
        for (String[] c : cases) {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("train", "--model", "twolayer", "--num-train",
                    "100", "--num-val", "50", "--epochs", "1", "--data", cifar.toString(), "--out", work.resolve("never-sized").toString()));
            int at = args.indexOf(c[0]);
            if (at >= 0) args.set(at + 1, c[1]);
            else args.addAll(java.util.List.of(c[0], c[1]));
            Run r = run(args.toArray(String[]::new));
            assertEquals(Cli.EXIT_USAGE, r.code(), String.join(" ", c) + ":\n" + r.err());
            assertTrue(r.err().contains(c[2]), String.join(" ", c) + ":\n" + r.err());
            assertFalse(r.err().contains("\tat "), "a stack trace:\n" + r.err());
        }
        assertFalse(Files.exists(work.resolve("never-sized").resolve(SavedRun.WEIGHTS)));
    }

    /** A folder given where a file is expected: the message names it (the JDK says only "Is a directory"). */
    @Test
    void aFolderGivenForAFileIsAUsageErrorNamingIt() throws IOException {
        Path out = work.resolve("run-folder-for-file");
        Run train = run("train", "--model", "twolayer", "--num-train", "100", "--num-val", "50", "--epochs", "1", "--data",
                cifar.toString(), "--out", out.toString());
        assertEquals(Cli.EXIT_OK, train.code(), train.err());
        Path folder = Files.createDirectories(work.resolve("a-folder.safetensors"));
        Run resume = run("train", "--model", "twolayer", "--num-train", "100", "--num-val", "50", "--epochs", "2", "--data",
                cifar.toString(), "--out", work.resolve("run-resume-folder").toString(), "--resume", folder.toString());
        Run predict = run("predict", "--model-dir", out.toString(), folder.toString());
        Files.delete(out.resolve(SavedRun.WEIGHTS));
        Files.createDirectories(out.resolve(SavedRun.WEIGHTS));
        Run eval = run("evaluate", "--model-dir", out.toString(), "--data", cifar.toString());
        for (Run r : new Run[] {resume, predict}) {
            assertEquals(Cli.EXIT_USAGE, r.code(), r.err());
            assertTrue(r.err().contains(folder.toString()), r.err());
            assertFalse(r.err().contains("\tat "), "a stack trace:\n" + r.err());
        }
        assertEquals(Cli.EXIT_USAGE, eval.code(), eval.err());
        assertTrue(eval.err().contains(out.resolve(SavedRun.WEIGHTS).toString()), eval.err());
    }

    /** The options several commands share come from one mixin each: each command lists the ones it takes, and only those. */
    @Test
    void eachCommandListsTheSharedOptionsItTakes() {
        String[] all = {"--backend", "--threads", "--debug", "--seed", "--model", "--data", "--num-test", "--num-train", "--num-val",
                "--out", "--batch-size", "--update", "--lr-decay", "--epochs", "--weight-scale", "--batch-norm", "--model-dir",
                "--weights", "--loss"};
        java.util.Map<String, List<String>> takes = java.util.Map.of(
                "train", List.of("--backend", "--threads", "--debug", "--seed", "--model", "--data", "--num-test", "--num-train",
                        "--num-val", "--out", "--batch-size", "--update", "--lr-decay", "--epochs", "--weight-scale", "--batch-norm", "--loss"),
                "search", List.of("--backend", "--threads", "--debug", "--seed", "--model", "--data", "--num-test", "--num-train",
                        "--num-val", "--out", "--batch-size", "--update", "--lr-decay", "--epochs", "--weight-scale", "--batch-norm", "--loss"),
                "evaluate", List.of("--backend", "--threads", "--debug", "--data", "--num-test", "--out", "--batch-size", "--model-dir",
                        "--weights"),
                "predict", List.of("--backend", "--threads", "--debug", "--model-dir", "--weights"),
                "gradcheck", List.of("--backend", "--threads", "--debug", "--seed", "--model", "--loss"));
        for (var e : takes.entrySet()) {
            var options = Cli.commandLine().getSubcommands().get(e.getKey()).getCommandSpec().options();
            java.util.Set<String> names = new java.util.HashSet<>();
            for (var o : options) names.addAll(List.of(o.names()));
            for (String o : all) {
                assertEquals(e.getValue().contains(o), names.contains(o), e.getKey() + " " + o);
            }
            String help = Cli.commandLine().getSubcommands().get(e.getKey()).getUsageMessage();
            for (String o : e.getValue()) assertTrue(help.contains(o.replace("--batch-norm", "--[no-]batch-norm")), e.getKey() + " --help lacks " + o + ":\n" + help);
        }
    }

    /** Descriptions are format strings: a literal '%' must not leave the help text unformatted. */
    @Test
    void trainHelpIsFormatted() {
        String help = Cli.commandLine().getSubcommands().get("train").getUsageMessage();
        assertFalse(help.contains("%n"), help);
        assertTrue(help.contains("(default 30 % of the run)"), help);
        assertTrue(help.contains("rising 30 % of the run"), help);
        assertTrue(help.contains(System.lineSeparator() + "Defaults per model"), help);
    }

    /** A shared option's per-command default and range: search takes twolayer or fc; a batch size below 1 is refused everywhere. */
    @Test
    void sharedOptionsKeepEachCommandsRules() {
        Run search = run("search", "--model", "convnet", "--data", cifar.toString(), "--out", work.resolve("never-search").toString());
        assertEquals(Cli.EXIT_USAGE, search.code(), search.err());
        assertTrue(search.err().contains("'convnet'") && search.err().contains("twolayer, fc"), search.err());
        Run eval = run("evaluate", "--model-dir", work.toString(), "--batch-size", "0");
        assertEquals(Cli.EXIT_USAGE, eval.code(), eval.err());
        assertTrue(eval.err().contains("--batch-size") && eval.err().contains(">= 1"), eval.err());
        Run grad = run("gradcheck", "--model", "nope");
        assertEquals(Cli.EXIT_USAGE, grad.code(), grad.err());
        assertTrue(grad.err().contains("'nope'") && grad.err().contains("prelu-mlp"), grad.err());
    }
}
