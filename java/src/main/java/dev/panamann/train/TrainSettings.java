package dev.panamann.train;

import dev.panamann.data.Augmentation;
import dev.panamann.io.Formats;
import dev.panamann.optim.LrSchedule;
import dev.panamann.optim.Optimizers;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How a model is trained: the {@link Solver} settings that matter for the result (the command
 * line stores them in a run's {@code model.json}). The constructor throws
 * {@link IllegalArgumentException} naming a value that is out of range (with the command line's
 * option name where there is one).
 *
 * @param updateRule     one of {@link Optimizers#RULES}
 * @param learningRate   initial learning rate (the peak for one-cycle), &gt; 0
 * @param lrDecay        factor applied to the learning rate after every epoch, &gt; 0 (the
 *                       {@code exponential} schedule only)
 * @param batchSize      minibatch size, &gt;= 1
 * @param epochs         epochs of the whole run, &gt;= 1
 * @param flip           random horizontal flips of the training images
 * @param augment        on-the-fly augmentation, {@link Augmentation#parse} spelling (e.g.
 *                       {@code crop,flip}); null or {@code none} for none
 * @param schedule       one of {@link #SCHEDULES}; null for {@code exponential}
 * @param warmupEpochs   cosine: epochs of linear warm-up (null: 0); onecycle: epochs of the
 *                       rising phase (null: 30 % of the run)
 * @param weightDecay    decoupled weight decay of {@code sgd_nesterov} and {@code adamw}; null
 *                       for the rule's default
 * @param labelSmoothing label smoothing of the softmax loss, in [0, 1)
 */
public record TrainSettings(String updateRule, double learningRate, double lrDecay, int batchSize, int epochs, boolean flip,
                            String augment, String schedule, Double warmupEpochs, Double weightDecay, double labelSmoothing) {

    /** The learning-rate schedules by their command-line names. */
    public static final List<String> SCHEDULES = List.of("exponential", "cosine", "onecycle");

    /** The update rules that take a decoupled weight decay. */
    public static final List<String> DECOUPLED = List.of("sgd_nesterov", "adamw");

    public TrainSettings {
        updateRule = updateRule == null ? null : updateRule.trim().toLowerCase(Locale.ROOT);
        if (!Optimizers.RULES.contains(updateRule)) {
            throw new IllegalArgumentException("unknown update rule '" + updateRule + "': use one of " + String.join(", ", Optimizers.RULES));
        }
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) throw new IllegalArgumentException("learning rate must be > 0, got " + learningRate);
        if (!(lrDecay > 0) || !Double.isFinite(lrDecay)) throw new IllegalArgumentException("lr decay must be > 0, got " + lrDecay);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (epochs < 1 || epochs > MAX_EPOCHS) throw new IllegalArgumentException("epochs must be between 1 and " + MAX_EPOCHS + ", got " + epochs);
        if (augment != null) {
            try {
                augment = Augmentation.parse(augment).describe().equals("none") ? null : augment.trim().toLowerCase(Locale.ROOT);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--augment: " + e.getMessage());
            }
            if (augment != null && flip) throw new IllegalArgumentException("--flip and --augment both given: use --augment " + augment + ",flip alone");
        }
        schedule = schedule == null ? null : schedule.trim().toLowerCase(Locale.ROOT);
        if (schedule != null && !SCHEDULES.contains(schedule)) {
            throw new IllegalArgumentException("unknown --schedule '" + schedule + "': use one of " + String.join(", ", SCHEDULES));
        }
        if (warmupEpochs != null) {
            if (!(warmupEpochs >= 0) || !Double.isFinite(warmupEpochs)) throw new IllegalArgumentException("--warmup-epochs must be >= 0, got " + warmupEpochs);
            if (schedule == null || schedule.equals("exponential")) throw new IllegalArgumentException("--warmup-epochs needs --schedule cosine or onecycle");
            if (schedule.equals("onecycle") && !(warmupEpochs > 0 && warmupEpochs < epochs)) {
                throw new IllegalArgumentException("--warmup-epochs of onecycle (its rising phase) must be > 0 and below the " + epochs + " epochs, got "
                        + warmupEpochs);
            }
        }
        if (weightDecay != null) {
            if (!DECOUPLED.contains(updateRule)) {
                throw new IllegalArgumentException("--weight-decay needs --optimizer sgd_nesterov or adamw (decoupled weight decay); the other rules "
                        + "regularize with --reg");
            }
            if (!(weightDecay >= 0 && weightDecay < 1)) throw new IllegalArgumentException("--weight-decay must be in [0, 1), got " + weightDecay);
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new IllegalArgumentException("--label-smoothing must be in [0, 1), got " + labelSmoothing);
    }

    /** Without data augmentation, with an exponential schedule and no label smoothing. */
    public TrainSettings(String updateRule, double learningRate, double lrDecay, int batchSize, int epochs) {
        this(updateRule, learningRate, lrDecay, batchSize, epochs, false, null, null, null, null, 0);
    }

    /** The on-the-fly augmentation ({@link Augmentation#none()} when there is none). */
    public Augmentation augmentation() {
        return augment == null ? Augmentation.none() : Augmentation.parse(augment);
    }

    /** The learning-rate schedule for the {@link Solver}. */
    public LrSchedule lrSchedule() {
        return switch (schedule == null ? "exponential" : schedule) {
            case "cosine" -> LrSchedule.warmupCosine(warmupEpochs == null ? 0 : warmupEpochs, 0);
            case "onecycle" -> warmupEpochs == null ? LrSchedule.oneCycle() : LrSchedule.oneCycle(warmupEpochs / epochs, 25, 1e4);
            default -> LrSchedule.exponential(lrDecay);
        };
    }

    /** The optimizer's config: learning_rate, and weight_decay when set. */
    public Map<String, Double> optimConfig() {
        Map<String, Double> c = new LinkedHashMap<>();
        c.put("learning_rate", learningRate);
        if (weightDecay != null) c.put("weight_decay", weightDecay);
        return c;
    }

    /** The most epochs a run may ask for (its loss history holds one value per iteration). */
    public static final int MAX_EPOCHS = 100_000;

    /** With or without random horizontal flips of the training images. */
    public TrainSettings withFlip(boolean on) {
        return new TrainSettings(updateRule, learningRate, lrDecay, batchSize, epochs, on, augment, schedule, warmupEpochs, weightDecay,
                labelSmoothing);
    }

    /** The same settings with another update rule. */
    public TrainSettings withUpdateRule(String r) {
        return new TrainSettings(r, learningRate, lrDecay, batchSize, epochs, flip, augment, schedule, warmupEpochs, weightDecay,
                labelSmoothing);
    }

    /** The same settings with another initial learning rate. */
    public TrainSettings withLearningRate(double lr) {
        return new TrainSettings(updateRule, lr, lrDecay, batchSize, epochs, flip, augment, schedule, warmupEpochs, weightDecay,
                labelSmoothing);
    }

    /** The same settings with another learning rate decay. */
    public TrainSettings withLrDecay(double d) {
        return new TrainSettings(updateRule, learningRate, d, batchSize, epochs, flip, augment, schedule, warmupEpochs, weightDecay,
                labelSmoothing);
    }

    /** The same settings with another batch size. */
    public TrainSettings withBatchSize(int b) {
        return new TrainSettings(updateRule, learningRate, lrDecay, b, epochs, flip, augment, schedule, warmupEpochs, weightDecay,
                labelSmoothing);
    }

    /** The same settings with another number of epochs. */
    public TrainSettings withEpochs(int e) {
        return new TrainSettings(updateRule, learningRate, lrDecay, batchSize, e, flip, augment, schedule, warmupEpochs, weightDecay,
                labelSmoothing);
    }

    /** The same settings with another augmentation ({@link Augmentation#parse} spelling, or null for none). */
    public TrainSettings withAugment(String a) {
        return new TrainSettings(updateRule, learningRate, lrDecay, batchSize, epochs, flip, a, schedule, warmupEpochs, weightDecay,
                labelSmoothing);
    }

    /** The same settings with another schedule (one of {@link #SCHEDULES}) and warm-up (null: the schedule's default). */
    public TrainSettings withSchedule(String name, Double warmup) {
        return new TrainSettings(updateRule, learningRate, lrDecay, batchSize, epochs, flip, augment, name, warmup, weightDecay,
                labelSmoothing);
    }

    /** The same settings with another decoupled weight decay (null: the rule's default). */
    public TrainSettings withWeightDecay(Double wd) {
        return new TrainSettings(updateRule, learningRate, lrDecay, batchSize, epochs, flip, augment, schedule, warmupEpochs, wd,
                labelSmoothing);
    }

    /** The same settings with another label smoothing. */
    public TrainSettings withLabelSmoothing(double eps) {
        return new TrainSettings(updateRule, learningRate, lrDecay, batchSize, epochs, flip, augment, schedule, warmupEpochs, weightDecay,
                eps);
    }

    /** One line for logs. */
    public String describe() {
        String sched = switch (schedule == null ? "exponential" : schedule) {
            case "cosine" -> "cosine per step" + (warmupEpochs == null || warmupEpochs == 0 ? ""
                    : " after " + Formats.number(warmupEpochs) + " warm-up epochs");
            case "onecycle" -> "one-cycle per step, rising " + (warmupEpochs == null ? "30 % of the run"
                    : Formats.number(warmupEpochs) + " epochs");
            default -> lrDecay == 1.0 ? "no lr decay" : "lr x " + Formats.number(lrDecay) + " per epoch";
        };
        return String.format(Locale.ROOT, "%s%s, lr %s, %s, batch %d, %d epochs%s%s%s", updateRule,
                weightDecay == null ? "" : " (weight decay " + Formats.number(weightDecay) + ")", Formats.number(learningRate), sched,
                batchSize, epochs, flip ? ", random horizontal flips" : "",
                augment == null ? "" : ", augmentation " + augmentation().describe(),
                labelSmoothing == 0 ? "" : ", label smoothing " + Formats.number(labelSmoothing));
    }
}
