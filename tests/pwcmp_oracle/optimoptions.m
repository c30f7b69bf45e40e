function o = optimoptions(varargin)
  % shim: Octave has no optimoptions; map pw_scale's call onto optimset with tight tolerances
  global PW_TOL
  o = optimset('GradObj', 'on', 'Display', 'off', 'TolFun', PW_TOL, 'TolX', PW_TOL, 'MaxIter', 10000, 'MaxFunEvals', 100000);
end
