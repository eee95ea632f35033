package dev.panamann.optim;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Creates an {@link Optimizer} by the cs231n rule name and config dictionary.
 *
 * <p>Config keys (all optional; the defaults are cs231n's):
 * <ul>
 *   <li>{@code sgd}: {@code learning_rate} (1e-2)</li>
 *   <li>{@code sgd_momentum}, {@code nesterov}: {@code learning_rate} (1e-2), {@code momentum} (0.9)</li>
 *   <li>{@code rmsprop}: {@code learning_rate} (1e-2), {@code decay_rate} (0.99), {@code epsilon} (1e-8)</li>
 *   <li>{@code adam}: {@code learning_rate} (1e-3), {@code beta1} (0.9), {@code beta2} (0.999), {@code epsilon} (1e-8)</li>
 *   <li>and each of these five: {@code weight_decay} (0), the L2 weight decay added to the gradient of
 *       the weights, as in PyTorch ({@link Optimizer})</li>
 *   <li>{@code sgd_nesterov} ({@link SgdNesterov}: Nesterov momentum with decoupled weight decay):
 *       {@code learning_rate} (1e-2), {@code momentum} (0.9), {@code weight_decay} (5e-4)</li>
 *   <li>{@code adamw} ({@link AdamW}: Adam with decoupled weight decay): {@code learning_rate} (1e-3),
 *       {@code beta1} (0.9), {@code beta2} (0.999), {@code epsilon} (1e-8), {@code weight_decay} (1e-2)</li>
 * </ul>
 * {@code lr} is accepted as a short name of {@code learning_rate}. An unknown rule, an
 * unknown key for the rule (a typo would otherwise be ignored silently) or an out-of-range
 * value throws {@link IllegalArgumentException} naming it.
 */
public final class Optimizers {
    /** The rule names {@link #create} knows. */
    public static final List<String> RULES = List.of("sgd", "sgd_momentum", "nesterov", "rmsprop", "adam", "sgd_nesterov", "adamw");

    private Optimizers() {}

    /**
     * A new optimizer.
     *
     * @param rule   one of {@link #RULES} (case-insensitive)
     * @param config hyperparameters by name (see the class comment); may be empty or null
     */
    public static Optimizer create(String rule, Map<String, ? extends Number> config) {
        if (rule == null) throw new IllegalArgumentException("update rule is null; use one of " + RULES);
        String r = rule.trim().toLowerCase(Locale.ROOT);
        Map<String, ? extends Number> c = config == null ? Map.of() : config;
        switch (r) {
            case "sgd" -> {
                checkKeys(r, c, Set.of("weight_decay"));
                return new Sgd(lr(c, Sgd.DEFAULT_LEARNING_RATE), get(c, "weight_decay", 0));
            }
            case "sgd_momentum" -> {
                checkKeys(r, c, Set.of("momentum", "weight_decay"));
                return new SgdMomentum(lr(c, SgdMomentum.DEFAULT_LEARNING_RATE), get(c, "momentum", SgdMomentum.DEFAULT_MOMENTUM),
                        get(c, "weight_decay", 0));
            }
            case "nesterov" -> {
                checkKeys(r, c, Set.of("momentum", "weight_decay"));
                return new Nesterov(lr(c, Nesterov.DEFAULT_LEARNING_RATE), get(c, "momentum", Nesterov.DEFAULT_MOMENTUM),
                        get(c, "weight_decay", 0));
            }
            case "rmsprop" -> {
                checkKeys(r, c, Set.of("decay_rate", "epsilon", "weight_decay"));
                return new RmsProp(lr(c, RmsProp.DEFAULT_LEARNING_RATE), get(c, "decay_rate", RmsProp.DEFAULT_DECAY_RATE),
                        get(c, "epsilon", RmsProp.DEFAULT_EPSILON), get(c, "weight_decay", 0));
            }
            case "adam" -> {
                checkKeys(r, c, Set.of("beta1", "beta2", "epsilon", "weight_decay"));
                return new Adam(lr(c, Adam.DEFAULT_LEARNING_RATE), get(c, "beta1", Adam.DEFAULT_BETA1),
                        get(c, "beta2", Adam.DEFAULT_BETA2), get(c, "epsilon", Adam.DEFAULT_EPSILON), get(c, "weight_decay", 0));
            }
            case "sgd_nesterov" -> {
                checkKeys(r, c, Set.of("momentum", "weight_decay"));
                return new SgdNesterov(lr(c, SgdNesterov.DEFAULT_LEARNING_RATE), get(c, "momentum", SgdNesterov.DEFAULT_MOMENTUM),
                        get(c, "weight_decay", SgdNesterov.DEFAULT_WEIGHT_DECAY));
            }
            case "adamw" -> {
                checkKeys(r, c, Set.of("beta1", "beta2", "epsilon", "weight_decay"));
                return new AdamW(lr(c, Adam.DEFAULT_LEARNING_RATE), get(c, "beta1", Adam.DEFAULT_BETA1),
                        get(c, "beta2", Adam.DEFAULT_BETA2), get(c, "epsilon", Adam.DEFAULT_EPSILON),
                        get(c, "weight_decay", AdamW.DEFAULT_WEIGHT_DECAY));
            }
            default -> throw new IllegalArgumentException("unknown update rule '" + rule + "': use one of " + RULES);
        }
    }

    private static double lr(Map<String, ? extends Number> c, double fallback) {
        if (c.containsKey("lr") && c.containsKey("learning_rate")) {
            throw new IllegalArgumentException("give either 'learning_rate' or 'lr', not both");
        }
        return c.containsKey("lr") ? get(c, "lr", fallback) : get(c, "learning_rate", fallback);
    }

    private static double get(Map<String, ? extends Number> c, String key, double fallback) {
        Number n = c.get(key);
        if (n == null) {
            if (c.containsKey(key)) throw new IllegalArgumentException("optim config '" + key + "' is null");
            return fallback;
        }
        return n.doubleValue();
    }

    private static void checkKeys(String rule, Map<String, ? extends Number> c, Set<String> allowed) {
        for (String k : c.keySet()) {
            if (k.equals("learning_rate") || k.equals("lr") || allowed.contains(k)) continue;
            throw new IllegalArgumentException("unknown optim config key '" + k + "' for rule " + rule + ": it takes learning_rate"
                    + (allowed.isEmpty() ? "" : ", " + String.join(", ", allowed.stream().sorted().toList())));
        }
    }
}
