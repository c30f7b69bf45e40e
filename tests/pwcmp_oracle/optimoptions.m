function o = optimoptions(varargin)
  % Shim for GNU Octave, which has no optimoptions: pw_scale.m's call
  % optimoptions('fminunc', 'SpecifyObjectiveGradient', true, 'Display', 'off')
  % becomes the equivalent optimset, with tolerances tight enough that the
  % reference numbers are the optimum itself rather than where the optimiser stopped.
  o = optimset('GradObj', 'on', 'Display', 'off', 'TolFun', 1e-12, 'TolX', 1e-12, ...
               'MaxIter', 10000, 'MaxFunEvals', 100000);
end
